"""``python -m codesign.scoring``."""

from codesign.launch import launch

if __name__ == "__main__":
    launch("codesign.scoring.cli")
