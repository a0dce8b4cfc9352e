"""Output that reads the same in a terminal, a file or a pipe: the shared consoles, JSON on
stdout for scripts, sizes for tables."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

# piped or redirected output has no terminal width: print tables whole instead of folding
# their columns at rich's default 80 (a reader or a script sees every column intact)
PIPED_WIDTH = 200


def _stdout_console() -> Console:
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(soft_wrap=True, width=PIPED_WIDTH if piped else None)


console = _stdout_console()
err_console = Console(stderr=True, soft_wrap=True, highlight=False, width=PIPED_WIDTH)


@contextmanager
def stdout_for_json() -> Iterator[None]:
    """``--json``: stdout carries the JSON document alone; progress and notes go to stderr."""
    console.file = sys.stderr
    try:
        yield
    finally:
        console.file = None  # back to the current sys.stdout


def print_json(data: object) -> None:
    """One JSON document on stdout (numbers as numbers; NaN and infinity as null)."""
    sys.stdout.write(json.dumps(_finite(data), indent=2, default=str) + "\n")


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def megabytes(n: int | None) -> str:
    """Bytes as MB for tables (a dash when unknown)."""
    return "–" if n is None else f"{n / 2**20:,.1f}"
