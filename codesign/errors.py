"""User-facing errors: every CLI turns these into one line and a non-zero exit."""

from __future__ import annotations


class CodesignError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2
