"""Any-precision bit-plane storage: weights kept once as the bit planes of the highest
precision; an n-bit member reads the top n planes and a bit-serial array consumes them plane
by plane (cost proportional to n). Memory holds the widest member once plus each member's
scales and zeros; the shared-fetch schedule fetches the planes once for every member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from codesign.simulators.families.base import (
    ACCELERATOR_FIELDS,
    ARRAY_FIELDS,
    FAMILIES,
    META_FIELDS,
    Family,
    Rates,
)
from codesign.simulators.families.bitserial import SERIAL_FIELDS, serial_rates
from codesign.simulators.fields import Field
from codesign.simulators.searched import ARRAY_SEARCHED

_BASE = tuple(f for f in ACCELERATOR_FIELDS if f.name != "weight_storage")


class BitPlaneFamily(Family):
    name = "bitplane"
    description = "any-precision bit-plane weights on a bit-serial array (top n planes)"
    searched = ARRAY_SEARCHED
    fields = (
        *META_FIELDS,
        *_BASE,
        Field("weight_storage", "choice", "bitplane", choices=("bitplane",)),
        *ARRAY_FIELDS,
        *SERIAL_FIELDS,
    )

    def check(self, params: dict[str, Any], where: str) -> None:
        params["weight_storage"] = "bitplane"

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        return serial_rates({**a, "weight_storage": np.full(n, "bitplane")}, n)


FAMILIES.add("bitplane", BitPlaneFamily())
