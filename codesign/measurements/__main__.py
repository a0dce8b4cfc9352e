"""``python -m codesign.measurements``."""

import sys

from codesign.measurements.cli import entry

sys.exit(entry())
