"""``python -m codesign.measurements``."""

from codesign.launch import launch

if __name__ == "__main__":
    launch("codesign.measurements.cli")
