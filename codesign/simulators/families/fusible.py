"""Fusible bit-level arrays (Bit Fusion): 2-bit BitBricks fuse into 4- and 8-bit multipliers.

A w-bit weight runs at the smallest fused width that holds it (3 bits pays for 4 in compute); in
memory it is packed at its own width like on every other unit (variants.STORAGE_RULE), and
widened to the brick width as it enters the array. One fusion unit does (max/w')(max/a') MACs
per cycle at the same power in every mode, so energy per MAC falls with the fused width. Area
and power are Bit Fusion's synthesis of the 16-brick unit, scaled by brick count for other
sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from codesign.simulators import calibration as cal
from codesign.simulators.families.base import (
    ACCELERATOR_FIELDS,
    ARRAY_FIELDS,
    BITS,
    FAMILIES,
    META_FIELDS,
    Family,
    Rates,
    exact_storage,
    single_array_rates,
)
from codesign.simulators.fields import Field, field_error
from codesign.simulators.searched import ARRAY_SEARCHED, SearchedField

if TYPE_CHECKING:
    from codesign.simulators.spec import UnitSpec


def fused_width(bits: np.ndarray, brick: np.ndarray) -> np.ndarray:
    """The smallest brick * 2^k that holds `bits` (broadcasts)."""
    ratio = np.maximum(np.asarray(bits, dtype=float) / brick, 1.0)
    return brick * 2.0 ** np.ceil(np.log2(ratio) - 1e-9)


def _brick_widths(spec: UnitSpec) -> tuple[int, ...]:
    """Brick widths that still fuse to the unit's widest multiplier."""
    top, act = spec.params["max_bits"], spec.params["act_bits"]
    return tuple(b for b in (1, 2, 4) if b <= top and fused_width(top, b) == top and act <= top)


class FusibleFamily(Family):
    name = "fusible"
    description = "Bit Fusion style: bricks fuse to 2/4/8 bits; 3-bit pays for 4"
    searched = (*ARRAY_SEARCHED, SearchedField("brick_bits", _brick_widths))
    fields = (
        *META_FIELDS,
        *ACCELERATOR_FIELDS,
        *ARRAY_FIELDS,
        Field("brick_bits", "int", 2, low=1, high=8, help="width of one BitBrick"),
        Field("max_bits", "int", 8, low=1, high=16, help="widest fused multiplier"),
    )

    def check(self, params: dict[str, Any], where: str) -> None:
        brick, top = params["brick_bits"], params["max_bits"]
        if fused_width(top, brick) != top:
            raise field_error(where, "max_bits", f"must be brick_bits ({brick}) times a power of 2")
        if params["act_bits"] > top:
            raise field_error(where, "act_bits", f"must be <= max_bits ({top})")

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        brick, top = a["brick_bits"][:, None], a["max_bits"][:, None]
        bricks_used, which = np.unique(a["brick_bits"], return_inverse=True)
        eff_w = fused_width(BITS[None, :], bricks_used[:, None])[which]  # (n, 17)
        eff_a = fused_width(a["act_bits"][:, None], brick)  # (n, 1)
        supported = (BITS[None, :] >= 1) & (eff_w <= top)
        macs_per_cycle = np.where(supported, (top / eff_w) * (top / eff_a), 0.0)
        unit = cal.fusion_unit(a["max_bits"], a["brick_bits"])
        unit_pj, unit_um2 = unit["pj"], unit["um2"]
        stored = exact_storage(n)
        with np.errstate(divide="ignore"):
            pj = np.where(supported, unit_pj[:, None] / macs_per_cycle, 0.0)
        return single_array_rates(
            a,
            n,
            macs_per_cycle=macs_per_cycle,
            pj_per_mac=pj,
            stored_bits=stored,
            pe_um2=unit_um2,
            pe_pj_cycle=unit_pj,
            pe_leak_uw=unit["leak_uw"],
            head_bits=a["max_bits"],
        )


FAMILIES.add("fusible", FusibleFamily())
