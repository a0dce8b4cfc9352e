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
BITFUSION_2018 = (
    "H. Sharma et al., 'Bit Fusion: Bit-Level Dynamically Composable Architecture for "
    "Accelerating Deep Neural Networks', ISCA 2018, per-PE synthesis results (45 nm, 500 MHz)"
)
INTEL_45NM_SRAM = (
    "K. Mistry et al., 'A 45nm Logic Technology with High-k+Metal Gate Transistors ...', "
    "IEDM 2007 (6T SRAM cell 0.346 um^2)"
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
SRAM_8KB_READ_32BIT_PJ = Figure(5.0, "pJ", EIE_2016, "32-bit read of an 8 KB SRAM")
SRAM_32KB_READ_64BIT_PJ = Figure(20.0, "pJ", HOROWITZ_2014, "64-bit read of a 32 KB cache")
SRAM_1MB_READ_64BIT_PJ = Figure(100.0, "pJ", HOROWITZ_2014, "64-bit read of a 1 MB cache")
DRAM_READ_32BIT_PJ = Figure(640.0, "pJ", EIE_2016, "32-bit DRAM read (Horowitz: 1.3-2.6 nJ/64b)")

# --- Bit Fusion, ISCA 2018: per-PE synthesis at 45 nm, 500 MHz ----------------------------------
CALIBRATION_NODE_NM = Figure(45.0, "nm", BITFUSION_2018, "node of every table here")
CALIBRATION_CLOCK_MHZ = Figure(500.0, "MHz", BITFUSION_2018, "clock of the PE power figures")
FIXED_PE_AREA_UM2 = {  # fixed-precision PE: bits x bits multiply-accumulate
    8: Figure(687.6, "um^2", BITFUSION_2018, "fixed 8-bit PE"),
    4: Figure(282.2, "um^2", BITFUSION_2018, "fixed 4-bit PE"),
    2: Figure(124.9, "um^2", BITFUSION_2018, "fixed 2-bit PE"),
}
FIXED_PE_POWER_UW = {
    8: Figure(171.8, "uW", BITFUSION_2018, "fixed 8-bit PE at 500 MHz"),
    4: Figure(67.9, "uW", BITFUSION_2018, "fixed 4-bit PE at 500 MHz"),
    2: Figure(31.6, "uW", BITFUSION_2018, "fixed 2-bit PE at 500 MHz"),
}
FUSION_UNIT_AREA_UM2 = Figure(1733.0, "um^2", BITFUSION_2018, "fusible 8->2-bit PE (16 bricks)")
FUSION_UNIT_POWER_UW = Figure(344.3, "uW", BITFUSION_2018, "fusible 8->2-bit PE at 500 MHz")
FUSION_UNIT_BRICKS = Figure(16.0, "bricks", BITFUSION_2018, "2-bit BitBricks per 8-bit unit")

# --- Vector unit (elementwise work) --------------------------------------------------------------
VECTOR_LANES_DEFAULT = Figure(
    64.0, "lanes", ASSUMPTION, "fp16 lanes beside an edge array (norms, softmax, SiLU, residual)"
)

SRAM_FLOOR_KB = Figure(
    1.0, "KB", ASSUMPTION, "smallest buffer the sqrt rule is applied to; smaller ones cost as 1 KB"
)

# --- SRAM area ---------------------------------------------------------------------------------
SRAM_BITCELL_UM2 = Figure(0.346, "um^2", INTEL_45NM_SRAM, "45 nm 6T bit cell")
SRAM_ARRAY_EFFICIENCY = Figure(0.5, "", ASSUMPTION, "bit cells / macro area (periphery)")

# --- Stated assumptions (no paper gives these for this model) ---------------------------------
BIT_SERIAL_OVERHEAD = Figure(
    1.25,
    "x",
    ASSUMPTION,
    "a bit-serial lane costs 1/8 of a fixed 8-bit PE per cycle times this factor "
    "(shift and accumulate registers); Stripes/Loom give no per-PE figure at 45 nm",
)
TECH_AREA_EXPONENT = Figure(2.0, "", ASSUMPTION, "area scales as (node/45 nm)^2")
TECH_ENERGY_EXPONENT = Figure(
    1.0, "", ASSUMPTION, "energy per op scales as node/45 nm (optimistic below 45 nm)"
)
SRAM_ENERGY_CAPACITY_EXPONENT = Figure(
    0.5,
    "",
    ASSUMPTION,
    "SRAM read energy grows as sqrt(capacity): fits Horowitz's 8 KB / 32 KB points exactly "
    "and 1 MB within 15%",
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
GPU_EFFICIENCY: dict[str, dict[str, Figure]] = {
    "a100-sxm": {
        "bandwidth_efficiency": Figure(
            1700.0 / 2039.0, "", GPT_FAST_README, "achieved / datasheet DRAM bandwidth"
        ),
        "compute_efficiency": Figure(0.589, "", GPU_FIT, "prefill GEMMs: achieved / peak"),
        "layer_overhead_us": Figure(87.5, "us", GPU_FIT, "per layer per forward pass"),
    },
    "h100-sxm": {
        "bandwidth_efficiency": Figure(0.538, "", GPU_FIT, "achieved / datasheet bandwidth"),
        "compute_efficiency": Figure(
            0.296, "", GPU_FIT, "prefill GEMMs: achieved / peak (one 128-token prefill pins it)"
        ),
        "layer_overhead_us": Figure(10.2, "us", GPU_FIT, "per layer per forward pass"),
    },
    "rtx4090": {
        "bandwidth_efficiency": Figure(1.0, "", GPU_FIT, "achieved / datasheet (at its bound)"),
        "compute_efficiency": Figure(0.6, "", ASSUMPTION, "no prefill point in the set"),
        "layer_overhead_us": Figure(24.9, "us", GPU_FIT, "per layer per forward pass"),
    },
}
# Weight-only kernels: the fraction of the dense-streaming bandwidth at which a kernel moves
# its packed weights (dequantizing in registers costs instructions; at batch 1 that shows as a
# lower effective bandwidth). 1.0 would be a kernel as fast per byte as an fp16 GEMV.
WEIGHT_ONLY_KERNELS: dict[str, Figure] = {
    "dense": Figure(1.0, "", "definition", "fp16/bf16 GEMM/GEMV: the reference"),
    "int8-wo": Figure(1.0, "", GPU_FIT, "int8 weight-only (gpt-fast / torchao)"),
    "tinygemm": Figure(0.790, "", GPU_FIT, "W4A16 tinygemm _weight_int4pack_mm (gpt-fast)"),
    "exllama": Figure(0.815, "", GPU_FIT, "W4A16 / W3A16 exllama-class (exllamav2 GPTQ, EXL2)"),
    "marlin": Figure(
        0.9,
        "",
        "Marlin README (github.com/IST-DASLab/marlin) reports near-optimal (close to the ideal "
        "4x over fp16) speedups up to batch 16-32; 0.9 is a stated reading of 'near-optimal', "
        "not a fit (no end-to-end Marlin point in the calibration set)",
        "W4A16 Marlin-class",
    ),
    "awq-gemm": Figure(
        0.790, "", ASSUMPTION, "W4A16 AWQ GEMM (llm-awq / AutoAWQ): taken equal to tinygemm"
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


def sram_pj_per_bit(capacity_kb: np.ndarray | float) -> np.ndarray:
    """SRAM read energy per bit at 45 nm for a buffer of this size (Horowitz/EIE, sqrt scaling).

    Weight and activation buffers follow the same rule; below SRAM_FLOOR_KB a buffer is costed
    as one of that size (periphery does not shrink with capacity)."""
    kb = np.maximum(np.asarray(capacity_kb, dtype=float), SRAM_FLOOR_KB.value)
    per_bit_8kb = SRAM_8KB_READ_32BIT_PJ.value / 32.0
    return per_bit_8kb * (kb / 8.0) ** SRAM_ENERGY_CAPACITY_EXPONENT.value


def sram_um2_per_byte() -> float:
    """SRAM macro area per byte at 45 nm: bit cell over array efficiency."""
    return 8.0 * SRAM_BITCELL_UM2.value / SRAM_ARRAY_EFFICIENCY.value


def dram_pj_per_bit_default() -> float:
    """Default DRAM access energy per bit (Horowitz via EIE: 640 pJ per 32-bit read)."""
    return DRAM_READ_32BIT_PJ.value / 32.0


_FIXED_BITS = np.array(sorted(FIXED_PE_AREA_UM2), dtype=float)
_FIXED_LOG_AREA = np.log([FIXED_PE_AREA_UM2[int(b)].value for b in _FIXED_BITS])
_FIXED_LOG_PJ = np.log(
    [
        FIXED_PE_POWER_UW[int(b)].value / CALIBRATION_CLOCK_MHZ.value  # uW / MHz = pJ per cycle
        for b in _FIXED_BITS
    ]
)


def _loglog(width: np.ndarray, log_values: np.ndarray) -> np.ndarray:
    """Piecewise log-log interpolation through the Bit Fusion points, extrapolated linearly."""
    x = np.log(width)
    xs = np.log(_FIXED_BITS)
    seg = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    slope = (log_values[seg + 1] - log_values[seg]) / (xs[seg + 1] - xs[seg])
    return np.exp(log_values[seg] + slope * (x - xs[seg]))


def fixed_pe_um2(weight_bits: np.ndarray, act_bits: np.ndarray) -> np.ndarray:
    """Area of a fixed weight_bits x act_bits PE at 45 nm.

    Exact at Bit Fusion's 2/4/8-bit points (square PEs); other widths interpolate in log-log on
    the geometric-mean width sqrt(w*a) (stated assumption). 16 x 16 is Horowitz's FP16
    multiplier plus adder.
    """
    w = np.asarray(weight_bits, dtype=float)
    a = np.asarray(act_bits, dtype=float)
    integer = _loglog(np.sqrt(w * a), _FIXED_LOG_AREA)
    fp16 = FP16_MULT_UM2.value + FP16_ADD_UM2.value
    return np.where((w == 16) & (a == 16), fp16, integer)


def fixed_pe_pj(weight_bits: np.ndarray, act_bits: np.ndarray) -> np.ndarray:
    """Energy per MAC (one cycle) of a fixed weight_bits x act_bits PE at 45 nm (as above)."""
    w = np.asarray(weight_bits, dtype=float)
    a = np.asarray(act_bits, dtype=float)
    integer = _loglog(np.sqrt(w * a), _FIXED_LOG_PJ)
    fp16 = FP16_MULT_PJ.value + FP16_ADD_PJ.value
    return np.where((w == 16) & (a == 16), fp16, integer)


def fusion_unit_pj_per_cycle() -> float:
    """Energy per cycle of one Bit Fusion fusion unit (power / clock), any mode."""
    return FUSION_UNIT_POWER_UW.value / CALIBRATION_CLOCK_MHZ.value
