"""Fixed-precision arrays: every PE multiplies `bits`-bit weights; narrower weights pay full cost.

Per-PE area and energy come from Bit Fusion's synthesis of fixed 2/4/8-bit PEs (45 nm,
500 MHz); a 16-bit PE is Horowitz's FP16 multiplier plus adder (see calibration.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from codesign.simulators.searched import ARRAY_SEARCHED


def check_fixed_width(bits: int, act_bits: int, where: str, name: str, fp16: bool = False) -> None:
    """A fixed PE is an integer PE of 1-16 bits, or an FP16 PE (16 bits, 16-bit activations)."""
    if not 1 <= bits <= 16:
        raise field_error(where, name, f"must be 1-16, got {bits}")
    if fp16 and (bits != 16 or act_bits != 16):
        raise field_error(where, "pe_format", "fp16 needs bits: 16 and act_bits: 16")


class FixedFamily(Family):
    name = "fixed"
    description = "fixed-precision array; narrower weights run at the array's width"
    searched = ARRAY_SEARCHED
    fields = (
        *META_FIELDS,
        *ACCELERATOR_FIELDS,
        *ARRAY_FIELDS,
        Field("bits", "int", low=1, high=16, help="PE weight width"),
        Field("pe_format", "choice", "int", choices=("int", "fp16"), help="integer or FP16 PE"),
    )

    def check(self, params: dict[str, Any], where: str) -> None:
        fp16 = params["pe_format"] == "fp16"
        check_fixed_width(params["bits"], params["act_bits"], where, "bits", fp16)

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        width, act = a["bits"], a["act_bits"]
        supported = (BITS[None, :] >= 1) & (BITS[None, :] <= width[:, None])
        fp16 = a["pe_format"] == "fp16"
        pe_pj = cal.fixed_pe_pj(width, act, fp16)
        return single_array_rates(
            a,
            n,
            macs_per_cycle=supported.astype(float),
            pj_per_mac=np.where(supported, pe_pj[:, None], 0.0),
            stored_bits=exact_storage(n),
            pe_um2=cal.fixed_pe_um2(width, act, fp16),
            pe_pj_cycle=pe_pj,
            pe_leak_uw=cal.fixed_pe_leakage_uw(width, act, fp16),
            head_bits=width,
        )


FAMILIES.add("fixed", FixedFamily())
