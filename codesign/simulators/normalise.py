"""Scale modelled area and energy to one technology node, so units from different nodes compare.

Rule (stated, calibration.TECH_AREA_EXPONENT / TECH_ENERGY_EXPONENT): area scales as
(node / from)^2 and energy per operation as (node / from)^1; DRAM PHY area is left as it is
(analog I/O does not shrink with the node). Classic scaling is optimistic
below ~28 nm (wires and SRAM scale worse than logic), so a normalised figure is a comparison
aid, not a prediction of a port. Units with no known node are left as they are (NaN node).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from codesign.simulators import calibration as cal

ENERGY_KEYS = (  # and power: energy over an unchanged latency
    "energy_j",
    "average_power_w",
    "energy_per_token_j",
    "mac_energy_j",
    "sram_energy_j",
    "dram_energy_j",
    "vector_energy_j",
    "static_energy_j",
    "busy_energy_j",
    "member_energy_j",
)
AREA_RULE = (
    f"area (DRAM PHY aside) x (N / node)^{cal.TECH_AREA_EXPONENT.value:g} (classic scaling, "
    "stated assumption)"
)
RULE = (
    f"area (DRAM PHY aside) x (N / node)^{cal.TECH_AREA_EXPONENT.value:g}, energy x (N / node)^"
    f"{cal.TECH_ENERGY_EXPONENT.value:g} (classic scaling, stated assumption)"
)


def area_at_node(
    area_mm2: np.ndarray, phy_mm2: np.ndarray, tech_nm: np.ndarray, node_nm: float
) -> np.ndarray:
    """Area scaled to `node_nm` by the stated rule; the DRAM PHY part kept; unknown node: as is."""
    area, phy = np.asarray(area_mm2, dtype=float), np.asarray(phy_mm2, dtype=float)
    node = np.asarray(tech_nm, dtype=float)
    known = np.isfinite(node)
    ratio = np.where(known, node_nm / np.where(known, node, 1.0), 1.0)
    return (area - phy) * ratio**cal.TECH_AREA_EXPONENT.value + phy


def normalise_node(out: Mapping[str, np.ndarray], node_nm: float) -> dict[str, np.ndarray]:
    """A copy of `evaluate`'s output with area, energies and power scaled to `node_nm`."""
    node = np.asarray(out["tech_nm"], dtype=float)
    known = np.isfinite(node)
    ratio = np.where(known, node_nm / np.where(known, node, 1.0), 1.0)
    energy = ratio**cal.TECH_ENERGY_EXPONENT.value
    scaled = dict(out)
    fixed = np.asarray(out.get("dram_phy_mm2", 0.0), dtype=float)  # I/O does not shrink
    scaled["area_mm2"] = area_at_node(out["area_mm2"], fixed, node, node_nm)
    for key in ENERGY_KEYS:
        if key in out:
            value = np.asarray(out[key], dtype=float)
            scaled[key] = value * energy.reshape((-1,) + (1,) * (value.ndim - 1))
    scaled["tech_nm"] = np.where(known, float(node_nm), node)
    return scaled
