"""Roofline targets (GPUs from their datasheets, a generic CPU), with the efficiency terms a
datasheet leaves out.

Per GEMM, time is the larger of MACs over the achieved compute rate and bytes over the achieved
bandwidth plus the part of the smaller that is not hidden behind it (`overlap`, one term every
GPU shares: near its ridge point a GPU neither computes nor streams at full rate), plus a fixed
per-layer overhead (kernel launches, synchronisation, elementwise kernels) per forward pass.
Achieved rates are datasheet peaks times named efficiency terms:
`bandwidth_efficiency` (dense weights streaming), `compute_efficiency` (prefill GEMMs), and per
weight-only kernel the fraction of that streaming rate at which it moves packed weights
(`kernel_w8/4/3`, calibration.WEIGHT_ONLY_KERNELS), or for a CPU the kernel's rate measured on
the host (`kernel_gbs`, measurements.kernel_probe). The GPU values are fitted to published
end-to-end measurements (calibration.GPU_EFFICIENCY; `validate --published` shows the fit).

Weight-only quantized kernels dequantize to fp16 inside the GEMM, so every weight width runs at
the fp16 tensor rate. Board power is `idle_w` (default calibration.IDLE_POWER_FRACTION of TDP)
for the whole step, plus TDP - idle while kernels run (the step less its per-layer overhead);
area is the whole die.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from codesign import hostprobe
from codesign.simulators import calibration as cal
from codesign.simulators.families.base import (
    BITS,
    FAMILIES,
    META_FIELDS,
    SRAM_FIELDS,
    WIDTHS,
    Family,
    Rates,
    exact_storage,
)
from codesign.simulators.fields import MEASURE, Field

_NO_TILING = 1e18  # a roofline has no array columns: activations are read once
KERNELS = tuple(cal.WEIGHT_ONLY_KERNELS)


def _kernel_field(bits: int) -> Field:
    return Field(
        f"kernel_w{bits}",
        "choice",
        cal.DEFAULT_KERNELS[f"kernel_w{bits}"],
        choices=KERNELS,
        help=f"weight-only kernel for {bits}-bit weights (calibration.WEIGHT_ONLY_KERNELS)",
    )


def kernel_of_width(bits: int) -> str:
    """The kernel field that serves w-bit weights: 5-8 bits the 8-bit kernel, 4 the 4-bit one,
    1-3 the 3-bit one (stated rule)."""
    if bits >= 16:
        return ""
    return "kernel_w8" if bits > 4 else ("kernel_w4" if bits == 4 else "kernel_w3")


class RooflineFamily(Family):
    name = "roofline"
    description = "GPU/CPU roofline with fitted efficiency terms and per-layer overhead"
    searched = ()  # a product's datasheet: nothing to size
    fields = (
        *META_FIELDS,
        Field("datasheet", "choice", None, choices=tuple(cal.GPU_DATASHEETS)),
        Field("bandwidth_gbs", "float", low=1e-6, measurable=True, help="memory bandwidth"),
        Field("peak_tflops", "float", low=1e-9, measurable=True, help="fp16 (CPU: fp32) peak"),
        Field("bandwidth_efficiency", "float", 1.0, low=1e-3, high=1.0, help="achieved / peak"),
        Field("compute_efficiency", "float", 1.0, low=1e-3, high=1.0, help="prefill / peak"),
        Field("layer_overhead_us", "float", 0.0, low=0.0, help="fixed time per layer per pass"),
        Field(
            "overlap",
            "float",
            1.0,
            low=0.0,
            high=1.0,
            help="share of a GEMM's shorter phase (compute or memory) hidden behind the longer "
            "(1: the roofline maximum)",
        ),
        _kernel_field(8),
        _kernel_field(4),
        _kernel_field(3),
        Field(
            "kernel_gbs",
            "float",
            None,
            low=1e-6,
            help="measured rate (GB/s of packed weights) of the host's low-bit kernel; when "
            "set, low-bit weights move at the lesser of it and the bandwidth (CPU profiles)",
        ),
        Field("dense_weight_bits", "int", 16, low=8, high=32, help="width of dense weights"),
        Field("act_bits", "int", 16, low=8, high=32, help="activation width in memory"),
        Field("cache_mb", "float", 8.0, low=0.0, help="last-level cache (activations spill)"),
        Field("power_w", "float", None, low=0.0, help="board power (TDP) for energy (optional)"),
        Field("idle_w", "float", None, low=0.0, help="board power with no kernel running"),
        Field(
            "dram_pj_per_bit",
            "float",
            None,
            low=0.0,
            help="energy per DRAM bit moved; with mac_pj, board power = idle + traffic x these, "
            "capped at power_w (calibration.GPU_ENERGY), instead of the TDP rule",
        ),
        Field("mac_pj", "float", None, low=0.0, help="energy per MAC (with dram_pj_per_bit)"),
        Field("die_area_mm2", "float", None, low=0.0, help="die area (optional)"),
        Field("tech_nm", "float", None, low=1.0, help="process node (optional)"),
        Field("memory_gb", "float", None, low=0.0, help="memory capacity (optional)"),
        Field("weight_storage", "choice", "packed", choices=("packed", "bitplane")),
    )

    def prepare(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        key = raw.get("datasheet") or ""
        sheet = cal.GPU_DATASHEETS.get(key)
        if sheet is None:
            return raw
        filled = {k: f.value for k, f in sheet.items() if k != "int8_tops"}
        filled.update({k: f.value for k, f in cal.GPU_EFFICIENCY.get(key, {}).items()})
        filled.update({k: f.value for k, f in cal.GPU_ENERGY.get(key, {}).items()})
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
        per_s = a["peak_tflops"] * a["compute_efficiency"] * 1e12 / 2.0  # MACs per second
        supported = BITS[None, :] >= 1
        stored = exact_storage(n)
        stored[:, 16] = a["dense_weight_bits"]
        capacity = a["memory_gb"] * 1e9
        tdp = a["power_w"].astype(float)
        idle = np.where(np.isnan(a["idle_w"]), tdp * cal.IDLE_POWER_FRACTION.value, a["idle_w"])
        # traffic-based power where the spec (or calibration.GPU_ENERGY) gives its energies
        traffic = ~np.isnan(a["dram_pj_per_bit"]) & ~np.isnan(a["mac_pj"])
        mac_pj = np.where(traffic, a["mac_pj"], 0.0)
        return Rates(
            macs_per_s=np.where(supported, per_s[:, None], 0.0)[:, None, :],
            pj_per_mac=np.where(supported, mac_pj[:, None], 0.0)[:, None, :],
            lane_of=np.zeros((n, WIDTHS), dtype=np.int64),
            stored_bits=stored,
            cols=np.full((n, 1), _NO_TILING),
            head_bits=np.full(n, 16, dtype=np.int64),
            attn_bits=np.full(n, 16, dtype=np.int64),
            act_bits=a["act_bits"].astype(np.int64),
            **{name: 0 * ones for name in SRAM_FIELDS},
            dram_pj_bit=np.where(traffic, a["dram_pj_per_bit"], 0.0),
            dram_bytes_per_s=a["bandwidth_gbs"] * a["bandwidth_efficiency"] * 1e9,
            act_sram_bytes=a["cache_mb"] * 1e6,
            static_w=idle,
            area_mm2=a["die_area_mm2"].astype(float),
            pe_area_um2=np.full((n, 1), np.nan),
            pe_power_uw=np.full((n, 1), np.nan),
            pe_count=np.zeros((n, 1)),
            bitplane=a["weight_storage"] == "bitplane",
            capacity_bytes=np.where(np.isnan(capacity), np.inf, capacity),
            weight_time_factor=weight_time_factor(a, n),
            layer_overhead_s=a["layer_overhead_us"] * 1e-6,
            overlap=a["overlap"].astype(float),
            busy_w=np.where(traffic, 0.0, np.maximum(tdp - idle, 0.0)),
            max_w=np.where(traffic & ~np.isnan(tdp), tdp, np.inf),
            tech_nm=a["tech_nm"].astype(float),
            area_scope="die",
        )


def weight_time_factor(a: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """(n, 17): 1 / the efficiency of the kernel each weight width runs on (1 for dense)."""
    out = np.ones((n, WIDTHS))
    factor = {}
    for key in ("kernel_w8", "kernel_w4", "kernel_w3"):
        names, which = np.unique(a[key], return_inverse=True)
        eff = np.asarray([cal.WEIGHT_ONLY_KERNELS[str(k)].value for k in names])
        factor[key] = (1.0 / eff)[which]
    for bits in range(1, 16):
        out[:, bits] = factor[kernel_of_width(bits)]
    measured = np.asarray(a["kernel_gbs"], dtype=float)
    stream = a["bandwidth_gbs"] * a["bandwidth_efficiency"]
    override = np.maximum(stream / measured, 1.0)
    out[:, 1:16] = np.where(np.isnan(measured)[:, None], out[:, 1:16], override[:, None])
    return out


FAMILIES.add("roofline", RooflineFamily())
