"""How the search may vary a compute-unit family's fields: small discrete grids around the
unit's own values (half, same, double), so ``--exhaustive`` can enumerate them.

A family lists its searched fields in its ``searched`` attribute, next to its spec fields. The
grids keep to fields that trade one objective against another in the PPA model: array size
(latency against area), activation buffer (energy against area), brick width (energy against
area). Fields the model charges nothing for (clock, DRAM bandwidth) would always be maxed, and
smaller weight buffers always win, so they stay as the spec gives them. A GPU roofline has
none. In the search a field is named ``<unit>.<field>``, e.g. ``bitfusion.array.rows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.simulators.fields import set_dotted

if TYPE_CHECKING:
    from codesign.simulators.spec import UnitSpec

SCALES = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class SearchedField:
    """One field the search varies: its grid for a given unit, and how a value is applied to
    the unit's nested spec mapping."""

    name: str
    grid: Callable[[UnitSpec], tuple[Any, ...]]
    apply: Callable[[dict, str, Any], None] = set_dotted


def scaled(field: str) -> Callable[[UnitSpec], tuple[Any, ...]]:
    """Half, the spec's value and double (integers stay integers, at least 1)."""

    def grid(spec: UnitSpec) -> tuple[Any, ...]:
        value = spec.params[field]
        if isinstance(value, int):
            return tuple(sorted({max(1, int(value * s)) for s in SCALES}))
        return tuple(sorted({float(value) * s for s in SCALES}))

    return grid


# Rows and columns of one array, and its activation buffer: what every array family searches.
ARRAY_SEARCHED = (
    SearchedField("array.rows", scaled("array.rows")),
    SearchedField("array.cols", scaled("array.cols")),
    SearchedField("sram.act_kb", scaled("sram.act_kb")),
)
