"""Roofline targets (GPUs from their datasheets, a generic CPU): time is the larger of MACs
over peak throughput and bytes over bandwidth, per GEMM.

Weight-only quantized kernels dequantize to fp16 inside the GEMM, so every weight width runs
at the fp16 tensor rate while its bytes move at the packed width. Energy is board power times
latency (an upper bound: datasheet TDP); area is the die.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from codesign.simulators import calibration as cal
from codesign.simulators import hostprobe
from codesign.simulators.families.base import (
    BITS,
    FAMILIES,
    META_FIELDS,
    WIDTHS,
    Family,
    Rates,
    exact_storage,
)
from codesign.simulators.fields import MEASURE, Field

_NO_TILING = 1e18  # a roofline has no array columns: activations are read once


class RooflineFamily(Family):
    name = "roofline"
    description = "GPU/CPU roofline: max(MACs / peak, bytes / bandwidth) per GEMM"
    searched = ()  # a product's datasheet: nothing to size
    fields = (
        *META_FIELDS,
        Field("datasheet", "choice", None, choices=tuple(cal.GPU_DATASHEETS)),
        Field("bandwidth_gbs", "float", low=1e-6, measurable=True, help="memory bandwidth"),
        Field("peak_tflops", "float", low=1e-9, measurable=True, help="fp16 (CPU: fp32) peak"),
        Field("dense_weight_bits", "int", 16, low=8, high=32, help="width of dense weights"),
        Field("act_bits", "int", 16, low=8, high=32, help="activation width in memory"),
        Field("cache_mb", "float", 8.0, low=0.0, help="last-level cache (activations spill)"),
        Field("power_w", "float", None, low=0.0, help="board power for energy (optional)"),
        Field("die_area_mm2", "float", None, low=0.0, help="die area (optional)"),
        Field("memory_gb", "float", None, low=0.0, help="memory capacity (optional)"),
        Field("weight_storage", "choice", "packed", choices=("packed", "bitplane")),
    )

    def prepare(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        sheet = cal.GPU_DATASHEETS.get(raw.get("datasheet") or "")
        if sheet is None:
            return raw
        filled = {k: f.value for k, f in sheet.items() if k != "int8_tops"}
        return {**filled, **raw}

    def resolve(self, params: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        out = dict(params)
        if out["bandwidth_gbs"] == MEASURE:
            out["bandwidth_gbs"] = hostprobe.copy_bandwidth_gbs()
            notes.append(f"bandwidth {out['bandwidth_gbs']:.1f} GB/s measured here (numpy copy)")
        if out["peak_tflops"] == MEASURE:
            out["peak_tflops"] = hostprobe.matmul_tflops()
            notes.append(f"peak {out['peak_tflops'] * 1e3:.0f} GFLOPS measured here (fp32 matmul)")
        return out

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        ones = np.ones(n)
        per_s = a["peak_tflops"] * 1e12 / 2.0  # MACs per second
        supported = BITS[None, :] >= 1
        stored = exact_storage(n)
        stored[:, 16] = a["dense_weight_bits"]
        capacity = a["memory_gb"] * 1e9
        return Rates(
            macs_per_s=np.where(supported, per_s[:, None], 0.0)[:, None, :],
            pj_per_mac=np.zeros((n, 1, WIDTHS)),
            lane_of=np.zeros((n, WIDTHS), dtype=np.int64),
            stored_bits=stored,
            cols=np.full((n, 1), _NO_TILING),
            head_bits=np.full(n, 16, dtype=np.int64),
            attn_bits=np.full(n, 16, dtype=np.int64),
            act_bits=a["act_bits"].astype(np.int64),
            weight_sram_pj_bit=0 * ones,
            act_sram_pj_bit=0 * ones,
            dram_pj_bit=0 * ones,
            dram_bytes_per_s=a["bandwidth_gbs"] * 1e9,
            act_sram_bytes=a["cache_mb"] * 1e6,
            static_w=a["power_w"].astype(float),
            area_mm2=a["die_area_mm2"].astype(float),
            pe_area_um2=np.full((n, 1), np.nan),
            pe_power_uw=np.full((n, 1), np.nan),
            pe_count=np.zeros((n, 1)),
            bitplane=a["weight_storage"] == "bitplane",
            capacity_bytes=np.where(np.isnan(capacity), np.inf, capacity),
        )


FAMILIES.add("roofline", RooflineFamily())
