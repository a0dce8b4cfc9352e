"""Compute-unit families; importing this package registers every one of them in FAMILIES."""

from codesign.simulators.families import (  # noqa: F401 - imported to register
    bitplane,
    bitserial,
    fixed,
    fusible,
    heterogeneous,
    roofline,
)
from codesign.simulators.families.base import FAMILIES, Family, Rates

__all__ = ["FAMILIES", "Family", "Rates"]
