"""``python -m codesign.report``."""

import sys

from codesign.report.cli import entry

sys.exit(entry())
