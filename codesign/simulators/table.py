"""Human units for modelled numbers (ms, mJ, mm^2, MB) and rich tables that carry their origin."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def _scaled(value: float, steps: Sequence[tuple[float, str]], digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    for factor, unit in steps:
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {unit}"
    factor, unit = steps[-1]
    return f"{value / factor:.{digits}g} {unit}"


def seconds(value: float) -> str:
    return _scaled(value, [(1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")])


def joules(value: float) -> str:
    return _scaled(value, [(1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ")])


def watts(value: float) -> str:
    return _scaled(value, [(1.0, "W"), (1e-3, "mW"), (1e-6, "uW")])


def nbytes(value: float) -> str:
    return _scaled(value, [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")])


def area(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g} mm^2"


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str,
    *,
    numeric: bool = False,
) -> Table:
    """A rich table; `caption` must say where the numbers come from. With `numeric`, every
    column but the first is right-aligned."""
    out = Table(title=title, caption=caption, caption_justify="left", title_justify="left")
    for i, col in enumerate(columns):
        justify = "right" if numeric and i else "left"
        out.add_column(col, justify=justify, overflow="fold", no_wrap=i == 0)
    for row in rows:
        out.add_row(*row)
    return out


def console() -> Console:
    """The commands' stdout console: terminal width, or wide enough when piped that tables
    keep their columns (commandline.output.PIPED_WIDTH)."""
    from codesign.commandline.output import console as shared

    return shared
