"""``python -m codesign.report``."""

from codesign.launch import launch

if __name__ == "__main__":
    launch("codesign.report.cli")
