"""``python -m codesign.search``."""

import sys

from codesign.search.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
