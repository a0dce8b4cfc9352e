"""How the search may vary a compute-unit family's fields: discrete grids of powers of two
around the unit's own values, so ``--exhaustive`` can enumerate them.

A family lists its searched fields in its ``searched`` attribute, next to its spec fields. The
grids keep to fields that trade one objective against another in the PPA model: array size
(latency against area: x1/4 to x4), activation buffer (energy and re-fetches against area and
leakage: x1/4 to x4), clock (latency against energy per MAC under the stated voltage-frequency
rule, calibration.VF_VOLTAGE_FLOOR: x1/2 to x2), brick width (energy against area), and the
memory interface: type and number of whole PHY links (bandwidth against PHY area; the type sets
energy per bit, calibration.DRAM_INTERFACES), from a quarter to four times the spec's
bandwidth, at least one link. Smaller weight buffers always win, so they stay as the spec gives
them. A GPU roofline has none. In the search a field is named ``<unit>.<field>``, e.g.
``bitfusion.array.rows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.simulators import calibration as cal
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


def _links(spec: UnitSpec) -> tuple[str, ...]:
    """Memory interfaces as '<type>x<links>' whose bandwidth lies within x1/4..x4 of the
    spec's (powers of two of links; at least one link of each searched type)."""
    bandwidth = float(spec.params["dram.bandwidth_gbs"])
    kinds = dict.fromkeys((spec.params["dram.type"], *cal.SEARCHED_DRAM_TYPES))
    out = []
    for kind in kinds:
        unit = cal.DRAM_INTERFACES[kind].unit_gbs
        low, high = bandwidth * SCALES[0], bandwidth * SCALES[-1]
        links = [n for n in (2, 4, 8, 16, 32, 64) if low <= n * unit <= high]
        out += [f"{kind}x{n}" for n in (1, *links)]
    return tuple(out)


def _apply_links(raw: dict, name: str, value: str) -> None:
    kind, links = value.rsplit("x", 1)
    set_dotted(raw, "dram.type", kind)
    set_dotted(raw, "dram.bandwidth_gbs", int(links) * cal.DRAM_INTERFACES[kind].unit_gbs)


DRAM_SEARCHED = SearchedField("dram", _links, _apply_links)
CLOCK_SEARCHED = SearchedField("clock_mhz", scaled("clock_mhz", CLOCK_SCALES))
# Rows and columns of one array, its activation buffer, clock and memory interface: what every
# array family searches.
ARRAY_SEARCHED = (
    SearchedField("array.rows", scaled("array.rows")),
    SearchedField("array.cols", scaled("array.cols")),
    SearchedField("sram.act_kb", scaled("sram.act_kb")),
    CLOCK_SEARCHED,
    DRAM_SEARCHED,
)
