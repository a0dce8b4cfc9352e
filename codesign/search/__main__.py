"""``python -m codesign.search``."""

from codesign.launch import launch

if __name__ == "__main__":
    launch("codesign.search.cli")
