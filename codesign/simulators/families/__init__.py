"""Compute-unit families, one file each; every module here is imported and registers itself in
FAMILIES, so a new family is one file (plus a YAML preset in ``units/`` to name a unit)."""

from codesign.registry import import_all
from codesign.simulators.families.base import FAMILIES, Family, Rates

import_all(__name__)

__all__ = ["FAMILIES", "Family", "Rates"]
