"""Heterogeneous sets of fixed-precision arrays: each member runs on the narrowest sub-array
that holds its weights; under a partitioned schedule the sub-arrays run different members at
once. Each sub-array's PEs are costed like the fixed family's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from codesign.simulators import calibration as cal
from codesign.simulators.families.base import (
    ACCELERATOR_FIELDS,
    BITS,
    FAMILIES,
    META_FIELDS,
    Family,
    Rates,
    exact_storage,
    memory_system,
    sram_energies,
)
from codesign.simulators.families.fixed import check_fixed_width
from codesign.simulators.fields import Field, field_error
from codesign.simulators.pe_shape import shape_factor
from codesign.simulators.searched import (
    CLOCK_SEARCHED,
    DRAM_SEARCHED,
    SCALES,
    SearchedField,
    scaled,
)

SUB_KEYS = ("bits", "rows", "cols")


def _scale_rows(raw: dict, name: str, scale: float) -> None:
    """Scale every sub-array's rows at once (the set keeps its shape)."""
    for sub in raw["arrays"]:
        sub["rows"] = max(1, int(round(sub["rows"] * scale)))


class HeterogeneousFamily(Family):
    name = "heterogeneous"
    description = "a set of fixed arrays; a member runs on the narrowest array that holds it"
    searched = (
        SearchedField("arrays.rows_scale", lambda spec: SCALES, _scale_rows),
        SearchedField("sram.act_kb", scaled("sram.act_kb")),
        CLOCK_SEARCHED,
        DRAM_SEARCHED,
    )
    fields = (
        *META_FIELDS,
        *ACCELERATOR_FIELDS,
        Field("arrays", "subarrays", help="list of {bits, rows, cols}"),
    )

    def check(self, params: dict[str, Any], where: str) -> None:
        arrays = params["arrays"]
        if not isinstance(arrays, list) or not arrays:
            raise field_error(where, "arrays", "must be a non-empty list of {bits, rows, cols}")
        for i, sub in enumerate(arrays):
            name = f"arrays[{i}]"
            if not isinstance(sub, Mapping) or set(sub) != set(SUB_KEYS):
                raise field_error(where, name, "must be a mapping with exactly bits, rows, cols")
            for key in SUB_KEYS:
                value = sub[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise field_error(
                        where, f"{name}.{key}", f"must be a positive integer, got {value!r}"
                    )
            check_fixed_width(sub["bits"], params["act_bits"], where, f"{name}.bits")

    def to_arrays(self, params: list[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        out = super().to_arrays(params)
        width = max(len(p["arrays"]) for p in params)
        for key, pad in zip(SUB_KEYS, (0, 0, 1), strict=True):
            rows = [
                [s[key] for s in p["arrays"]] + [pad] * (width - len(p["arrays"])) for p in params
            ]
            out[f"sub_{key}"] = np.asarray(rows, dtype=float)
        return out

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        width, act = a["sub_bits"], a["act_bits"][:, None]  # (n, S)
        count = a["sub_rows"] * a["sub_cols"]
        valid = (count > 0) & (width > 0)
        safe = np.where(valid, width, 8.0)
        supported = (
            valid[:, :, None]
            & (BITS[None, None, :] >= 1)
            & (BITS[None, None, :] <= width[:, :, None])
        )  # (n, S, 17)
        energy_scale = cal.tech_energy_scale(a["tech_nm"])[:, None]
        shape = {  # each sub-array's own shape (pe_shape.shape_factor)
            m: shape_factor(m, a["sub_rows"], a["sub_cols"])
            for m in ("area_um2", "dynamic_uw", "leakage_uw")
        }
        pe_pj = (
            cal.fixed_pe_pj(safe, act)
            * shape["dynamic_uw"]
            * energy_scale
            * cal.vf_energy_scale(a["clock_mhz"])[:, None]
        )
        leak_uw = cal.fixed_pe_leakage_uw(safe, act) * shape["leakage_uw"]
        leak_w = np.sum(np.where(valid, leak_uw, 0.0) * count * energy_scale, axis=1) * 1e-6
        pe_um2 = (
            np.where(valid, cal.fixed_pe_um2(safe, act) * shape["area_um2"], 0.0)
            * cal.tech_area_scale(a["tech_nm"])[:, None]
        )
        clock = a["clock_mhz"][:, None] * 1e6
        # the narrowest sub-array that holds w bits: rank by width, skip the narrower ones
        ranked_width = np.where(valid, width, np.inf)
        order = np.argsort(ranked_width, axis=1, kind="stable")
        ranked = np.take_along_axis(ranked_width, order, axis=1)
        narrower = np.sum(ranked[:, :, None] < BITS[None, None, :], axis=1)  # (n, 17)
        lane_of = np.take_along_axis(order, np.minimum(narrower, width.shape[1] - 1), axis=1)
        mem = memory_system(a, n)
        act_bits = a["act_bits"].astype(np.int64)
        return Rates(
            macs_per_s=supported * (count * clock)[:, :, None],
            pj_per_mac=supported * pe_pj[:, :, None],
            lane_of=lane_of.astype(np.int64),
            stored_bits=exact_storage(n),
            cols=np.maximum(a["sub_cols"], 1.0),
            head_bits=np.max(np.where(valid, width, 0), axis=1).astype(np.int64),
            attn_bits=act_bits,
            act_bits=act_bits,
            **sram_energies(mem),
            dram_pj_bit=mem["dram_pj_bit"],
            dram_bytes_per_s=mem["dram_bytes_per_s"],
            act_sram_bytes=mem["act_sram_bytes"],
            static_w=mem["static_w"] + leak_w,
            area_mm2=np.sum(count * pe_um2, axis=1) / 1e6
            + mem["sram_mm2"]
            + mem["vector_mm2"]
            + mem["dram_phy_mm2"],
            fixed_area_mm2=mem["dram_phy_mm2"],
            pe_area_um2=pe_um2,
            pe_power_uw=np.where(valid, pe_pj * a["clock_mhz"][:, None], 0.0),
            pe_count=count,
            bitplane=mem["bitplane"],
            capacity_bytes=mem["capacity_bytes"],
            vector_ops_per_s=mem["vector_ops_per_s"],
            vector_pj_per_op=mem["vector_pj_per_op"],
            tech_nm=a["tech_nm"].astype(float),
        )


FAMILIES.add("heterogeneous", HeterogeneousFamily())
