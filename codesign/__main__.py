"""``python -m codesign STAGE …``: the same as the ``codesign`` console script."""

from codesign.cli import script

script()
