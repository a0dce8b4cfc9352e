"""Calibration constants of the hardware model, each with its published source beside it.

Every number the analytical model rests on lives here and nowhere else (as Accelergy keeps its
energy and area tables apart from the architecture). A constant is a `Figure`: value, unit and
source, so a report can say where any modelled number comes from. Numbers that no paper gives
are marked as stated assumptions (`ASSUMPTION`), never dressed up as measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOROWITZ_2014 = (
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', "
    "ISSCC 2014, Fig. 1.1.9 (45 nm, 0.9 V)"
)
EIE_2016 = (
    "S. Han et al., 'EIE: Efficient Inference Engine on Compressed Deep Neural Network', "
    "ISCA 2016, Table I (45 nm energies quoted from Horowitz 2014)"
)
H100_DATASHEET = (
    "NVIDIA H100 Tensor Core GPU datasheet (SXM5 80 GB column; dense = half the 'with "
    "sparsity' figure) and 'NVIDIA H100 Tensor Core GPU Architecture' whitepaper (die, L2)"
)
A100_DATASHEET = (
    "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80 GB column, dense figures) and "
    "'NVIDIA A100 Tensor Core GPU Architecture' whitepaper (die, L2)"
)
ASSUMPTION = "stated assumption of this model (no published calibration)"


@dataclass(frozen=True)
class Figure:
    """One calibration number with its unit and where it comes from."""

    value: float
    unit: str
    source: str
    note: str = ""

    def __float__(self) -> float:
        return float(self.value)


# --- Horowitz, ISSCC 2014 (45 nm): energy and area per operation ------------------------------
INT8_ADD_PJ = Figure(0.03, "pJ", HOROWITZ_2014, "8-bit integer add")
INT8_ADD_UM2 = Figure(36.0, "um^2", HOROWITZ_2014, "8-bit integer add")
INT32_ADD_PJ = Figure(0.1, "pJ", HOROWITZ_2014, "32-bit integer add")
INT8_MULT_PJ = Figure(0.2, "pJ", HOROWITZ_2014, "8-bit integer multiply")
INT8_MULT_UM2 = Figure(282.0, "um^2", HOROWITZ_2014, "8-bit integer multiply")
INT32_MULT_PJ = Figure(3.1, "pJ", HOROWITZ_2014, "32-bit integer multiply (checks bit scaling)")
FP16_ADD_PJ = Figure(0.4, "pJ", HOROWITZ_2014, "16-bit floating-point add")
FP16_ADD_UM2 = Figure(1360.0, "um^2", HOROWITZ_2014, "16-bit floating-point add")
FP16_MULT_PJ = Figure(1.1, "pJ", HOROWITZ_2014, "16-bit floating-point multiply")
FP16_MULT_UM2 = Figure(1640.0, "um^2", HOROWITZ_2014, "16-bit floating-point multiply")
DRAM_READ_32BIT_PJ = Figure(640.0, "pJ", EIE_2016, "32-bit DRAM read (Horowitz: 1.3-2.6 nJ/64b)")

# --- Bit Fusion, ISCA 2018: one synthesis table for every PE ------------------------------------
# Every PE figure comes from one table: the Bit Fusion artifact's systolic-array synthesis
# (results/systolic_array_synth.csv, 45 nm, 500 MHz), rows of a 4 x 4 array divided by its 16
# PEs, so fixed and fusible PEs share one footing (array wiring amortised the same way). The
# per-PE cost moves with the array's shape (fixed 8-bit: 687.6 um^2 alone, 510.7 per PE in
# 4 x 4, 782.6 in 1 x 16): the families move these 4 x 4 figures to their array's shape by
# pe_shape.shape_factor, fitted on the whole table.
BITFUSION_SYNTH = (
    "Bit Fusion artifact (github.com/hsharma35/bitfusion, results/systolic_array_synth.csv; "
    "Sharma et al., ISCA 2018): 45 nm, 500 MHz, 4 x 4 array rows / 16 PEs"
)
CALIBRATION_NODE_NM = Figure(45.0, "nm", BITFUSION_SYNTH, "node of every table here")
CALIBRATION_CLOCK_MHZ = Figure(500.0, "MHz", BITFUSION_SYNTH, "clock of the PE power figures")
ARRAY_PES = 16.0  # the 4 x 4 rows


def _pe(total: float, unit: str, note: str) -> Figure:
    return Figure(total / ARRAY_PES, unit, BITFUSION_SYNTH, note)


# fixed-precision integer PE, bits x bits multiply-accumulate: (max = min precision) rows
FIXED_PE_AREA_UM2 = {
    2: _pe(1297.069191, "um^2", "fixed 2-bit PE"),
    4: _pe(3066.008364, "um^2", "fixed 4-bit PE"),
    8: _pe(8171.729995, "um^2", "fixed 8-bit PE"),
    16: _pe(26870.48336, "um^2", "fixed 16-bit integer PE"),
}
FIXED_PE_DYNAMIC_UW = {
    2: _pe(325.616, "uW", "fixed 2-bit PE, dynamic power at 500 MHz"),
    4: _pe(659.402, "uW", "fixed 4-bit PE, dynamic power at 500 MHz"),
    8: _pe(1627.5, "uW", "fixed 8-bit PE, dynamic power at 500 MHz"),
    16: _pe(4821.5, "uW", "fixed 16-bit PE, dynamic power at 500 MHz"),
}
FIXED_PE_LEAKAGE_UW = {
    2: _pe(27.768, "uW", "fixed 2-bit PE, leakage"),
    4: _pe(84.995, "uW", "fixed 4-bit PE, leakage"),
    8: _pe(257.7, "uW", "fixed 8-bit PE, leakage"),
    16: _pe(912.26, "uW", "fixed 16-bit PE, leakage"),
}
# fusible unit of 2-bit BitBricks fusing up to `max` bits: (max, min = 2) rows
FUSION_UNIT_AREA_UM2 = {
    4: _pe(5670.201557, "um^2", "fusible 4->2-bit unit (4 bricks)"),
    8: _pe(27752.83558, "um^2", "fusible 8->2-bit unit (16 bricks)"),
    16: _pe(141302.2232, "um^2", "fusible 16->2-bit unit (64 bricks)"),
}
FUSION_UNIT_DYNAMIC_UW = {
    4: _pe(942.252, "uW", "fusible 4->2-bit unit, dynamic power at 500 MHz"),
    8: _pe(3673.5, "uW", "fusible 8->2-bit unit, dynamic power at 500 MHz"),
    16: _pe(16907.6, "uW", "fusible 16->2-bit unit, dynamic power at 500 MHz"),
}
FUSION_UNIT_LEAKAGE_UW = {
    4: _pe(175.22, "uW", "fusible 4->2-bit unit, leakage"),
    8: _pe(949.24, "uW", "fusible 8->2-bit unit, leakage"),
    16: _pe(4726.7, "uW", "fusible 16->2-bit unit, leakage"),
}
FUSION_UNIT_BRICKS = Figure(16.0, "bricks", BITFUSION_SYNTH, "2-bit BitBricks per 8-bit unit")

# --- DRAM energy per bit by memory type: one table -----------------------------------------------
ACCELERGY_DRAM = (
    "Accelergy CACTI plug-in, CactiDRAM.type2energy (github.com/Accelergy-Project/"
    "accelergy-cacti-plug-in, cacti_wrapper.py), pJ per bit read or written"
)
DRAM_PJ_PER_BIT = {
    "lpddr4": Figure(8.0, "pJ/bit", ACCELERGY_DRAM, "LPDDR4 ('public data')"),
    "lpddr": Figure(40.0, "pJ/bit", ACCELERGY_DRAM, "LPDDR (Malladi et al., ISCA 2012)"),
    "ddr3": Figure(70.0, "pJ/bit", ACCELERGY_DRAM, "DDR3 (Chatterjee et al., MICRO 2017)"),
    "gddr5": Figure(14.0, "pJ/bit", ACCELERGY_DRAM, "GDDR5"),
    "hbm2": Figure(3.9, "pJ/bit", ACCELERGY_DRAM, "HBM2"),
    "horowitz": Figure(640.0 / 32.0, "pJ/bit", EIE_2016, "640 pJ per 32-bit read (45 nm era)"),
}
DEFAULT_DRAM = "lpddr4"  # the edge presets' 25.6 GB/s is one LPDDR4-3200 x64 interface

# --- DRAM interface: width and rate of one PHY unit, and its area ----------------------------
# An interface is built from whole PHY units (a 32-bit DDR-class link or a 1024-bit HBM stack),
# so its area is ceil(bandwidth / unit bandwidth) x unit area. PHY area does not scale with the
# process node (analog I/O; LLMCompass's stated rule), so it is kept apart from the node-scaled
# area. The I/O energy of a transfer is part of the per-bit figures above (they are system
# figures: array, on-die movement and I/O); PHY standby power and the memory controller's logic
# are not modelled.
LLMCOMPASS_COST = (
    "H. Zhang et al., 'LLMCompass', ISCA 2024, area model (github.com/PrincetonUniversity/"
    "LLMCompass, cost_model/cost_model.py): memory PHY area per link unit"
)
JEDEC_RATE = "JEDEC standard speed grade named in the note (data rate per pin)"
DDR_PHY_MM2 = Figure(
    1.45,
    "mm^2",
    LLMCOMPASS_COST,
    "DDR5 PHY per 32-bit link unit, applied to every DDR-class link (LPDDR, DDR3, GDDR5: "
    "stated assumption)",
)
HBM_PHY_MM2 = Figure(
    10.45, "mm^2", LLMCOMPASS_COST, "HBM2e PHY per 1024-bit stack, applied to HBM2 (assumed)"
)


@dataclass(frozen=True)
class DramInterface:
    """One PHY unit of a memory type: its width, per-pin rate and area."""

    pins: int
    gbps_per_pin: Figure
    phy_mm2: Figure

    @property
    def unit_gbs(self) -> float:
        return self.pins * self.gbps_per_pin.value / 8.0


DRAM_INTERFACES = {
    "lpddr4": DramInterface(32, Figure(3.2, "Gb/s", JEDEC_RATE, "LPDDR4-3200"), DDR_PHY_MM2),
    "lpddr": DramInterface(32, Figure(0.8, "Gb/s", JEDEC_RATE, "LPDDR2-800"), DDR_PHY_MM2),
    "ddr3": DramInterface(32, Figure(1.6, "Gb/s", JEDEC_RATE, "DDR3-1600"), DDR_PHY_MM2),
    "gddr5": DramInterface(32, Figure(8.0, "Gb/s", JEDEC_RATE, "GDDR5 8 Gb/s"), DDR_PHY_MM2),
    "hbm2": DramInterface(1024, Figure(2.0, "Gb/s", JEDEC_RATE, "HBM2 2 Gb/s"), HBM_PHY_MM2),
    "horowitz": DramInterface(32, Figure(1.6, "Gb/s", JEDEC_RATE, "DDR3-1600"), DDR_PHY_MM2),
}
# memory types the search may choose between (an edge LPDDR link, a GDDR link, an HBM stack)
SEARCHED_DRAM_TYPES = ("lpddr4", "gddr5", "hbm2")

# --- Vector unit (elementwise work) --------------------------------------------------------------
VECTOR_LANES_DEFAULT = Figure(
    64.0, "lanes", ASSUMPTION, "fp16 lanes beside an edge array (norms, softmax, SiLU, residual)"
)

# --- SRAM: read/write energy, leakage and area over capacity, one 45 nm table -------------------
# CACTI sweep of the Bit Fusion artifact (bitfusion/sram/cacti_sweep.csv: 45 nm, 32-bit port,
# itrs-hp cells, 360 K) from 128 B to 16 KB, continued for energy by Horowitz's 45 nm cache reads
# at 32 KB and 1 MB (read only: the write figure there is taken equal to it). Between points:
# log-log interpolation; past the ends, the end segments' slopes (energy) or the 16 KB per-byte
# figure (leakage, area).
BITFUSION_CACTI = (
    "Bit Fusion artifact CACTI sweep (github.com/hsharma35/bitfusion, "
    "bitfusion/sram/cacti_sweep.csv): 45 nm, 32-bit port"
)
KB = 1024
SRAM_READ_PJ_32BIT = {  # capacity in bytes -> energy per 32-bit access
    128: Figure(0.683701, "pJ", BITFUSION_CACTI, "128 B read"),
    512: Figure(1.06097, "pJ", BITFUSION_CACTI, "512 B read"),
    1 * KB: Figure(1.13324, "pJ", BITFUSION_CACTI, "1 KB read"),
    2 * KB: Figure(1.90318, "pJ", BITFUSION_CACTI, "2 KB read"),
    4 * KB: Figure(3.42953, "pJ", BITFUSION_CACTI, "4 KB read"),
    8 * KB: Figure(6.39163, "pJ", BITFUSION_CACTI, "8 KB read"),
    16 * KB: Figure(9.9817, "pJ", BITFUSION_CACTI, "16 KB read"),
    32 * KB: Figure(10.0, "pJ", HOROWITZ_2014, "32 KB cache, half of a 64-bit read"),
    KB * KB: Figure(50.0, "pJ", HOROWITZ_2014, "1 MB cache, half of a 64-bit read"),
}
SRAM_WRITE_PJ_32BIT = {
    128: Figure(0.925317, "pJ", BITFUSION_CACTI, "128 B write"),
    512: Figure(2.33869, "pJ", BITFUSION_CACTI, "512 B write"),
    1 * KB: Figure(3.29596, "pJ", BITFUSION_CACTI, "1 KB write"),
    2 * KB: Figure(3.63853, "pJ", BITFUSION_CACTI, "2 KB write"),
    4 * KB: Figure(4.31011, "pJ", BITFUSION_CACTI, "4 KB write"),
    8 * KB: Figure(5.56268, "pJ", BITFUSION_CACTI, "8 KB write"),
    16 * KB: Figure(8.4209, "pJ", BITFUSION_CACTI, "16 KB write"),
    32 * KB: Figure(10.0, "pJ", HOROWITZ_2014, "32 KB: the read figure (no write figure given)"),
    KB * KB: Figure(50.0, "pJ", HOROWITZ_2014, "1 MB: the read figure (no write figure given)"),
}
SRAM_LEAKAGE_MW = {  # per bank of the CACTI sweep (itrs-hp cells: a high-leakage bound)
    128: Figure(0.249588, "mW", BITFUSION_CACTI, "128 B leakage"),
    512: Figure(1.03183, "mW", BITFUSION_CACTI, "512 B leakage"),
    1 * KB: Figure(1.78934, "mW", BITFUSION_CACTI, "1 KB leakage"),
    2 * KB: Figure(3.22997, "mW", BITFUSION_CACTI, "2 KB leakage"),
    4 * KB: Figure(7.30186, "mW", BITFUSION_CACTI, "4 KB leakage"),
    8 * KB: Figure(13.6943, "mW", BITFUSION_CACTI, "8 KB leakage"),
    16 * KB: Figure(27.127, "mW", BITFUSION_CACTI, "16 KB leakage"),
}
SRAM_AREA_MM2 = {
    128: Figure(0.00149898, "mm^2", BITFUSION_CACTI, "128 B macro"),
    512: Figure(0.00760331, "mm^2", BITFUSION_CACTI, "512 B macro"),
    1 * KB: Figure(0.00882362, "mm^2", BITFUSION_CACTI, "1 KB macro"),
    2 * KB: Figure(0.015132, "mm^2", BITFUSION_CACTI, "2 KB macro"),
    4 * KB: Figure(0.0300607, "mm^2", BITFUSION_CACTI, "4 KB macro"),
    8 * KB: Figure(0.0575061, "mm^2", BITFUSION_CACTI, "8 KB macro"),
    16 * KB: Figure(0.108577, "mm^2", BITFUSION_CACTI, "16 KB macro"),
}

# --- Stated assumptions (no paper gives these for this model) ---------------------------------
BIT_SERIAL_OVERHEAD = Figure(
    1.25,
    "x",
    ASSUMPTION,
    "a bit-serial lane costs 1/8 of a fixed 8-bit PE per cycle times this factor "
    "(shift and accumulate registers); Stripes/Loom give no per-PE figure at 45 nm",
)
VF_VOLTAGE_FLOOR = Figure(
    0.6,
    "",
    ASSUMPTION,
    "voltage-frequency rule: supply V/V0 = floor + (1 - floor) x f/f0 (f0 = 500 MHz, the "
    "calibration clock), so dynamic energy per operation scales as (V/V0)^2: a faster clock "
    "costs energy per MAC, a slower one saves it (leakage and SRAM left at V0)",
)
TECH_AREA_EXPONENT = Figure(2.0, "", ASSUMPTION, "area scales as (node/45 nm)^2")
TECH_ENERGY_EXPONENT = Figure(
    1.0, "", ASSUMPTION, "energy per op scales as node/45 nm (optimistic below 45 nm)"
)

# --- GPU datasheets (roofline targets) ----------------------------------------------------------
RTX4090_DATASHEET = (
    "NVIDIA Ada GPU architecture whitepaper (GeForce RTX 4090 column: GDDR6X bandwidth, FP16 "
    "tensor with FP32 accumulate, dense; total board power; AD102 die)"
)
GPU_DATASHEETS: dict[str, dict[str, Figure]] = {
    "h100-sxm": {
        "bandwidth_gbs": Figure(3350.0, "GB/s", H100_DATASHEET, "HBM3"),
        "peak_tflops": Figure(989.5, "TFLOPS", H100_DATASHEET, "FP16/BF16 tensor, dense"),
        "int8_tops": Figure(1979.0, "TOPS", H100_DATASHEET, "INT8 tensor, dense"),
        "power_w": Figure(700.0, "W", H100_DATASHEET, "max TDP"),
        "die_area_mm2": Figure(814.0, "mm^2", H100_DATASHEET, "GH100 die"),
        "memory_gb": Figure(80.0, "GB", H100_DATASHEET, "HBM3 capacity"),
        "cache_mb": Figure(50.0, "MB", H100_DATASHEET, "L2 cache"),
        "tech_nm": Figure(4.0, "nm", H100_DATASHEET, "TSMC 4N"),
    },
    "a100-sxm": {
        "bandwidth_gbs": Figure(2039.0, "GB/s", A100_DATASHEET, "HBM2e, 80 GB part"),
        "peak_tflops": Figure(312.0, "TFLOPS", A100_DATASHEET, "FP16/BF16 tensor, dense"),
        "int8_tops": Figure(624.0, "TOPS", A100_DATASHEET, "INT8 tensor, dense"),
        "power_w": Figure(400.0, "W", A100_DATASHEET, "max TDP"),
        "die_area_mm2": Figure(826.0, "mm^2", A100_DATASHEET, "GA100 die"),
        "memory_gb": Figure(80.0, "GB", A100_DATASHEET, "HBM2e capacity"),
        "cache_mb": Figure(40.0, "MB", A100_DATASHEET, "L2 cache"),
        "tech_nm": Figure(7.0, "nm", A100_DATASHEET, "TSMC N7"),
    },
    "rtx4090": {
        "bandwidth_gbs": Figure(1008.0, "GB/s", RTX4090_DATASHEET, "GDDR6X"),
        "peak_tflops": Figure(165.2, "TFLOPS", RTX4090_DATASHEET, "FP16 tensor, FP32 acc, dense"),
        "int8_tops": Figure(660.6, "TOPS", RTX4090_DATASHEET, "INT8 tensor, dense"),
        "power_w": Figure(450.0, "W", RTX4090_DATASHEET, "total board power"),
        "die_area_mm2": Figure(608.5, "mm^2", RTX4090_DATASHEET, "AD102 die"),
        "memory_gb": Figure(24.0, "GB", RTX4090_DATASHEET, "GDDR6X capacity"),
        "cache_mb": Figure(72.0, "MB", RTX4090_DATASHEET, "L2 cache"),
        "tech_nm": Figure(4.0, "nm", RTX4090_DATASHEET, "TSMC 4N"),
    },
}

# --- GPU efficiency terms: what a datasheet roofline leaves out ---------------------------------
# Fitted by scripts/fit_gpu_calibration.py to the 'fit' rows of
# simulators/reference_data/gpu_published.csv (least squares on log(predicted / published));
# the 'holdout' rows are not used by the fit and show how far the terms carry.
# `validate --published` prints every row, fitted and held out.
GPU_FIT = (
    "fitted to published measurements (simulators/reference_data/gpu_published.csv, rows "
    "marked 'fit'; scripts/fit_gpu_calibration.py)"
)
GPT_FAST_README = (
    "gpt-fast README (github.com/pytorch-labs/gpt-fast): 'Empirically, seems like peak "
    "bandwidth is about 1700 GB/s' on an A100-80GB"
)
FLASHMLA_README = (
    "FlashMLA README (github.com/deepseek-ai/FlashMLA): 'up to 3000 GB/s in memory-bound "
    "configuration' on an H800 SXM5 (the H100 SXM5's 3.35 TB/s HBM3)"
)
GPU_OVERLAP = Figure(0.2735, "", GPU_FIT, "share of the shorter GEMM phase hidden, every GPU")
GPU_EFFICIENCY: dict[str, dict[str, Figure]] = {
    "a100-sxm": {
        "bandwidth_efficiency": Figure(
            1700.0 / 2039.0, "", GPT_FAST_README, "achieved / datasheet DRAM bandwidth"
        ),
        "compute_efficiency": Figure(0.7368, "", GPU_FIT, "prefill GEMMs: achieved / peak"),
        "layer_overhead_us": Figure(70.5, "us", GPU_FIT, "per layer per forward pass"),
        "overlap": GPU_OVERLAP,
    },
    "h100-sxm": {
        "bandwidth_efficiency": Figure(
            3000.0 / 3350.0, "", FLASHMLA_README, "achieved / datasheet DRAM bandwidth"
        ),
        "compute_efficiency": Figure(
            0.2585, "", GPU_FIT, "prefill GEMMs: achieved / peak (one 128-token prefill pins it)"
        ),
        "layer_overhead_us": Figure(64.12, "us", GPU_FIT, "per layer per forward pass"),
        "overlap": GPU_OVERLAP,
    },
    "rtx4090": {
        "bandwidth_efficiency": Figure(1.0, "", GPU_FIT, "achieved / datasheet (at its bound)"),
        "compute_efficiency": Figure(
            0.513, "", GPU_FIT, "no prefill point: set by decode's compute share, near its prior"
        ),
        "layer_overhead_us": Figure(22.26, "us", GPU_FIT, "per layer per forward pass"),
        "overlap": GPU_OVERLAP,
    },
}
# GPU energy per DRAM bit and per MAC (board power = idle + these x traffic, capped at TDP),
# fitted by simulators.gpu_energy.fit_power on ML.ENERGY's measured H100 rows (15 rows, four
# models, batch 8-64; leave-one-model-out error printed by `validate --published`); a test
# holds these to the fit. GPUs without measured energy keep the TDP rule (idle + TDP - idle
# while kernels run) and `simulators` says so.
MLENERGY_FIT = (
    "fitted to ML.ENERGY Leaderboard v3 measured energy (github.com/ml-energy/leaderboard "
    "@0cd52da; vLLM 0.11.1, H100 SXM, bf16; simulators.gpu_energy)"
)
GPU_ENERGY: dict[str, dict[str, Figure]] = {
    "h100-sxm": {
        "dram_pj_per_bit": Figure(18.29, "pJ/bit", MLENERGY_FIT, "HBM3 bytes streamed, per bit"),
        "mac_pj": Figure(4.732, "pJ", MLENERGY_FIT, "bf16 tensor-core MAC"),
    },
}
# Weight-only kernels: the fraction of the dense-streaming bandwidth at which a kernel moves
# its packed weights (dequantizing in registers costs instructions; at batch 1 that shows as a
# lower effective bandwidth). 1.0 would be a kernel as fast per byte as an fp16 GEMV.
WEIGHT_ONLY_KERNELS: dict[str, Figure] = {
    "dense": Figure(1.0, "", "definition", "fp16/bf16 GEMM/GEMV: the reference"),
    "int8-wo": Figure(1.0, "", GPU_FIT, "int8 weight-only (gpt-fast / torchao)"),
    "tinygemm": Figure(0.7373, "", GPU_FIT, "W4A16 tinygemm _weight_int4pack_mm (gpt-fast)"),
    "exllama": Figure(0.8211, "", GPU_FIT, "W4A16 / W3A16 exllama-class (exllamav2 GPTQ, EXL2)"),
    "marlin": Figure(
        1.0,
        "",
        "Marlin README (github.com/IST-DASLab/marlin, Benchmarks): 'essentially ideal speedups "
        "at all batchsizes, enabling the maximum possible 3.87x' over fp16 (group-128 scales "
        "included) on a large matrix on an A10; a kernel-level measurement, so an upper bound "
        "for end to end (no end-to-end Marlin point in the calibration set)",
        "W4A16 Marlin-class",
    ),
    "awq-gemm": Figure(
        0.6829, "", GPU_FIT, "W4A16 AWQ GEMM (AutoAWQ, fused layers; one RTX 4090 row)"
    ),
}
# The kernel each weight width runs on when a unit spec does not say (fields kernel_w8/4/3).
DEFAULT_KERNELS = {"kernel_w8": "int8-wo", "kernel_w4": "marlin", "kernel_w3": "exllama"}
IDLE_POWER_FRACTION = Figure(
    0.15,
    "",
    ASSUMPTION,
    "idle board power as a fraction of TDP (no calibration point in the published set)",
)


# --- Derived quantities (vectorised) -----------------------------------------------------------
def tech_area_scale(node_nm: np.ndarray | float) -> np.ndarray:
    """Area factor of a node relative to the 45 nm calibration (stated assumption)."""
    return (
        np.asarray(node_nm, dtype=float) / CALIBRATION_NODE_NM.value
    ) ** TECH_AREA_EXPONENT.value


def vf_energy_scale(clock_mhz: np.ndarray | float) -> np.ndarray:
    """Dynamic energy per operation at this clock relative to the calibration clock (stated
    voltage-frequency rule, VF_VOLTAGE_FLOOR)."""
    ratio = np.asarray(clock_mhz, dtype=float) / CALIBRATION_CLOCK_MHZ.value
    floor = VF_VOLTAGE_FLOOR.value
    return (floor + (1.0 - floor) * ratio) ** 2


def tech_energy_scale(node_nm: np.ndarray | float) -> np.ndarray:
    """Energy factor of a node relative to the 45 nm calibration (stated assumption)."""
    node = np.asarray(node_nm, dtype=float)
    return (node / CALIBRATION_NODE_NM.value) ** TECH_ENERGY_EXPONENT.value


def fp16_fma_pj() -> float:
    """One fp16 multiply plus one fp16 add at 45 nm (Horowitz): an elementwise operation."""
    return FP16_MULT_PJ.value + FP16_ADD_PJ.value


def fp16_fma_um2() -> float:
    """Area of one fp16 multiplier plus adder at 45 nm (Horowitz): one vector lane."""
    return FP16_MULT_UM2.value + FP16_ADD_UM2.value


def int_mult_pj(bits: np.ndarray | float) -> np.ndarray:
    """Integer multiply energy at 45 nm, quadratic in width from Horowitz's 8-bit point."""
    return INT8_MULT_PJ.value * (np.asarray(bits, dtype=float) / 8.0) ** 2


def int_add_pj(bits: np.ndarray | float) -> np.ndarray:
    """Integer add energy at 45 nm, linear in width from Horowitz's 8-bit point."""
    return INT8_ADD_PJ.value * np.asarray(bits, dtype=float) / 8.0


def _interp_loglog(x: np.ndarray, xs: np.ndarray, log_ys: np.ndarray) -> np.ndarray:
    """Piecewise log-log interpolation through (xs, exp(log_ys)), extrapolated with the end
    segments' slopes."""
    lx, lxs = np.log(np.asarray(x, dtype=float)), np.log(xs)
    seg = np.clip(np.searchsorted(lxs, lx) - 1, 0, len(lxs) - 2)
    slope = (log_ys[seg + 1] - log_ys[seg]) / (lxs[seg + 1] - lxs[seg])
    return np.exp(log_ys[seg] + slope * (lx - lxs[seg]))


def _table(
    figures: dict[int, Figure], divisor: float = 1.0, per_key: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(keys, log values) of a table keyed by width or capacity, in key order; each value
    divided by `divisor` (a clock: pJ per cycle) and, with `per_key`, by its key (per byte)."""
    keys = np.asarray(sorted(figures), dtype=float)
    values = np.asarray([figures[int(k)].value for k in keys]) / divisor
    return keys, np.log(values / keys if per_key else values)


_SRAM_READ = _table(SRAM_READ_PJ_32BIT, 32.0)  # per bit
_SRAM_WRITE = _table(SRAM_WRITE_PJ_32BIT, 32.0)
_SRAM_X = _SRAM_READ[0]
_SRAM_LEAK = _table(SRAM_LEAKAGE_MW, per_key=True)  # mW per byte
_SRAM_AREA = _table(SRAM_AREA_MM2, 1e-6, per_key=True)  # um^2 per byte


def _sram_bytes(capacity_kb: np.ndarray | float) -> np.ndarray:
    """Capacity in bytes; below the table's 128 B the 128 B figures hold."""
    return np.maximum(np.asarray(capacity_kb, dtype=float) * 1024.0, _SRAM_X[0])


def sram_read_pj_per_bit(capacity_kb: np.ndarray | float) -> np.ndarray:
    """Read energy per bit of a 45 nm SRAM of this capacity (CACTI sweep to 16 KB, Horowitz
    beyond). Weight and activation buffers follow the same rule."""
    return _interp_loglog(_sram_bytes(capacity_kb), _SRAM_X, _SRAM_READ[1])


def sram_write_pj_per_bit(capacity_kb: np.ndarray | float) -> np.ndarray:
    """Write energy per bit of a 45 nm SRAM of this capacity (as sram_read_pj_per_bit); a
    buffer is charged its reads and its writes apart, by what the workload reads and writes."""
    return _interp_loglog(_sram_bytes(capacity_kb), _SRAM_X, _SRAM_WRITE[1])


def _per_byte(capacity_kb: np.ndarray | float, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    kb = np.asarray(capacity_kb, dtype=float)
    per_byte = np.exp(np.interp(np.log(_sram_bytes(kb)), np.log(table[0]), table[1]))
    return np.where(kb > 0, per_byte * kb * 1024.0, 0.0)


def sram_leakage_mw(capacity_kb: np.ndarray | float) -> np.ndarray:
    """Leakage of a 45 nm SRAM of this capacity (CACTI per-byte figure interpolated, held at
    the 16 KB value beyond it); 0 for an empty buffer."""
    return _per_byte(capacity_kb, _SRAM_LEAK)


def sram_um2(capacity_kb: np.ndarray | float) -> np.ndarray:
    """Macro area of a 45 nm SRAM of this capacity (CACTI per-byte area interpolated, held at
    the 16 KB value beyond it); 0 for an empty buffer."""
    return _per_byte(capacity_kb, _SRAM_AREA)


def _per_kind(kind: np.ndarray | str, value_of) -> np.ndarray:
    """``value_of(name)`` for every entry of an array of memory-type names (one call per
    distinct name: the arrays hold a few names over many designs)."""
    kinds = np.asarray(kind)
    names, which = np.unique(kinds, return_inverse=True)
    return np.asarray([value_of(str(k)) for k in names], dtype=float)[which].reshape(kinds.shape)


def dram_pj_per_bit(kind: np.ndarray | str) -> np.ndarray:
    """DRAM access energy per bit by memory type (DRAM_PJ_PER_BIT)."""
    return _per_kind(kind, lambda k: DRAM_PJ_PER_BIT[k].value)


def dram_phy_mm2(kind: np.ndarray | str, bandwidth_gbs: np.ndarray | float) -> np.ndarray:
    """Area of the whole PHY units a memory interface of this type and bandwidth needs
    (DRAM_INTERFACES; not node-scaled)."""
    unit_gbs = _per_kind(kind, lambda k: DRAM_INTERFACES[k].unit_gbs)
    unit_mm2 = _per_kind(kind, lambda k: DRAM_INTERFACES[k].phy_mm2.value)
    units = np.ceil(np.asarray(bandwidth_gbs, dtype=float) / unit_gbs - 1e-9)
    return units * unit_mm2


_FIXED_AREA = _table(FIXED_PE_AREA_UM2)
_FIXED_PJ = _table(FIXED_PE_DYNAMIC_UW, CALIBRATION_CLOCK_MHZ.value)  # uW / MHz = pJ/cycle
_FIXED_LEAK = _table(FIXED_PE_LEAKAGE_UW)


def _fixed(table: tuple[np.ndarray, np.ndarray], w, a) -> np.ndarray:
    width = np.sqrt(np.asarray(w, dtype=float) * np.asarray(a, dtype=float))
    return _interp_loglog(width, table[0], table[1])


def fixed_pe_um2(weight_bits, act_bits, fp16=False) -> np.ndarray:
    """Area of a fixed integer weight_bits x act_bits PE at 45 nm.

    Exact at Bit Fusion's 2/4/8/16-bit points (square PEs); other widths interpolate in log-log
    on the geometric-mean width sqrt(w*a) (stated assumption). With `fp16`, Horowitz's FP16
    multiplier plus adder instead."""
    integer = _fixed(_FIXED_AREA, weight_bits, act_bits)
    return np.where(fp16, FP16_MULT_UM2.value + FP16_ADD_UM2.value, integer)


def fixed_pe_pj(weight_bits, act_bits, fp16=False) -> np.ndarray:
    """Dynamic energy per MAC (one cycle) of a fixed PE at 45 nm (as fixed_pe_um2)."""
    integer = _fixed(_FIXED_PJ, weight_bits, act_bits)
    return np.where(fp16, FP16_MULT_PJ.value + FP16_ADD_PJ.value, integer)


def fixed_pe_leakage_uw(weight_bits, act_bits, fp16=False) -> np.ndarray:
    """Leakage of a fixed PE at 45 nm (as fixed_pe_um2; an FP16 PE leaks like the integer
    16-bit PE scaled by area, a stated assumption)."""
    integer = _fixed(_FIXED_LEAK, weight_bits, act_bits)
    int16 = _fixed(_FIXED_LEAK, 16, 16) / _fixed(_FIXED_AREA, 16, 16)
    return np.where(fp16, int16 * (FP16_MULT_UM2.value + FP16_ADD_UM2.value), integer)


def fusion_unit(max_bits, brick_bits) -> dict[str, np.ndarray]:
    """Area (um2), dynamic energy per cycle (pj) and leakage (leak_uw) of one fusion unit at
    45 nm. 2-bit bricks fusing to 4, 8 or 16 bits: Bit Fusion's rows; other brick widths: the
    8 -> 2 unit scaled by brick count (max / brick)^2 / 16 (stated assumption)."""
    top = np.asarray(max_bits, dtype=float)
    brick = np.asarray(brick_bits, dtype=float)
    bricks = (top / brick) ** 2
    out = {}
    for key, table, per_cycle in (
        ("um2", FUSION_UNIT_AREA_UM2, False),
        ("pj", FUSION_UNIT_DYNAMIC_UW, True),
        ("leak_uw", FUSION_UNIT_LEAKAGE_UW, False),
    ):
        scale = CALIBRATION_CLOCK_MHZ.value if per_cycle else 1.0
        value = table[8].value / scale * bricks / FUSION_UNIT_BRICKS.value
        for width, figure in table.items():
            value = np.where((brick == 2) & (top == width), figure.value / scale, value)
        out[key] = value
    return out
