"""How the search may vary a compute-unit family's fields: discrete grids of powers of two
around the unit's own values, so ``--exhaustive`` can enumerate them.

A family lists its searched fields in its ``searched`` attribute, next to its spec fields. The
grids keep to fields that trade one objective against another in the PPA model: array size
(latency against area: x1/4 to x4), activation buffer (energy and re-fetches against area and
leakage: x1/4 to x4), clock (latency against energy per MAC under the stated voltage-frequency
rule, calibration.VF_VOLTAGE_FLOOR: x1/2 to x2), brick width (energy against area). DRAM
bandwidth would always be maxed while the model charges no interface area or power for it, and
smaller weight buffers always win, so both stay as the spec gives them. A GPU roofline has
none. In the search a field is named ``<unit>.<field>``, e.g. ``bitfusion.array.rows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.simulators.fields import set_dotted

if TYPE_CHECKING:
    from codesign.simulators.spec import UnitSpec

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # array size and activation buffer
CLOCK_SCALES = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class SearchedField:
    """One field the search varies: its grid for a given unit, and how a value is applied to
    the unit's nested spec mapping."""

    name: str
    grid: Callable[[UnitSpec], tuple[Any, ...]]
    apply: Callable[[dict, str, Any], None] = set_dotted


def scaled(field: str, scales: tuple[float, ...] = SCALES) -> Callable[[UnitSpec], tuple[Any, ...]]:
    """The spec's value times each scale (integers stay integers, at least 1)."""

    def grid(spec: UnitSpec) -> tuple[Any, ...]:
        value = spec.params[field]
        if isinstance(value, int):
            return tuple(sorted({max(1, int(value * s)) for s in scales}))
        return tuple(sorted({float(value) * s for s in scales}))

    return grid


CLOCK_SEARCHED = SearchedField("clock_mhz", scaled("clock_mhz", CLOCK_SCALES))
# Rows and columns of one array, its activation buffer and clock: what every array family
# searches.
ARRAY_SEARCHED = (
    SearchedField("array.rows", scaled("array.rows")),
    SearchedField("array.cols", scaled("array.cols")),
    SearchedField("sram.act_kb", scaled("sram.act_kb")),
    CLOCK_SEARCHED,
)
