"""Bit-serial arrays (Stripes/Loom style): one weight bit per cycle, so cost is proportional
to weight bits and 3 bits is cheaper than 4.

No paper gives a 45 nm per-lane figure on the footing of Bit Fusion's table, so a lane is
stated to cost 1/8 of a fixed 8-bit PE per cycle times `serial_overhead` (calibration.py).
"""

from __future__ import annotations

from collections.abc import Mapping

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
from codesign.simulators.fields import Field
from codesign.simulators.searched import ARRAY_SEARCHED

SERIAL_FIELDS = (
    Field("max_bits", "int", 16, low=1, high=16, help="widest weight a lane serialises"),
    Field(
        "serial_overhead",
        "float",
        cal.BIT_SERIAL_OVERHEAD.value,
        low=0.0,
        help="lane cost over 1/8 of a fixed 8-bit PE (stated assumption)",
    ),
)


def serial_rates(a: Mapping[str, np.ndarray], n: int) -> Rates:
    """Rates of a bit-serial array: w cycles and w lane-cycles of energy per w-bit MAC."""
    supported = (BITS[None, :] >= 1) & (BITS[None, :] <= a["max_bits"][:, None])
    eight = np.full(n, 8.0)
    lane_pj = cal.fixed_pe_pj(eight, a["act_bits"]) / 8.0 * a["serial_overhead"]
    lane_um2 = cal.fixed_pe_um2(eight, a["act_bits"]) / 8.0 * a["serial_overhead"]
    lane_leak = cal.fixed_pe_leakage_uw(eight, a["act_bits"]) / 8.0 * a["serial_overhead"]
    with np.errstate(divide="ignore"):
        per_cycle = np.where(supported, 1.0 / np.maximum(BITS[None, :], 1), 0.0)
    return single_array_rates(
        a,
        n,
        macs_per_cycle=per_cycle,
        pj_per_mac=np.where(supported, BITS[None, :] * lane_pj[:, None], 0.0),
        stored_bits=exact_storage(n),
        pe_um2=lane_um2,
        pe_pj_cycle=lane_pj,
        pe_leak_uw=lane_leak,
        head_bits=np.minimum(a["max_bits"], 16),
    )


class BitSerialFamily(Family):
    name = "bit-serial"
    description = "Stripes/Loom style: cost proportional to weight bits (3 < 4)"
    searched = ARRAY_SEARCHED
    fields = (*META_FIELDS, *ACCELERATOR_FIELDS, *ARRAY_FIELDS, *SERIAL_FIELDS)

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        return serial_rates(a, n)


FAMILIES.add("bit-serial", BitSerialFamily())
