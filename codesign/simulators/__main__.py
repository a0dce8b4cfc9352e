"""``python -m codesign.simulators``."""

from codesign.launch import launch

if __name__ == "__main__":
    launch("codesign.simulators.cli")
