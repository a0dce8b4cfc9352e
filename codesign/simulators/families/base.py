"""What a compute-unit family provides: its spec fields and its per-precision rate tables.

A family turns a batch of designs (struct-of-arrays, one row per design) into `Rates`: for every
weight width 1-16 bits, MACs per second and energy per MAC on each sub-array, the bits a weight
occupies in memory, and the memory system's bandwidth and energies. Everything downstream
(roofline per GEMM, schedules) is family-independent, so a new family is one file that
subclasses `Family` and registers itself in `FAMILIES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from codesign.registry import Registry
from codesign.simulators import calibration as cal
from codesign.simulators.fields import Field
from codesign.simulators.pe_shape import shape_factor
from codesign.simulators.searched import SearchedField

WIDTHS = 17  # rate tables are indexed by weight bits 0..16 (0 unused)
BITS = np.arange(WIDTHS)

FAMILIES: Registry[Family] = Registry("compute-unit family")


@dataclass(frozen=True, eq=False)
class Rates:
    """Per-design cost tables of a DesignBatch (n designs, S sub-arrays, 17 widths)."""

    macs_per_s: np.ndarray  # (n, S, 17) throughput of sub-array s on w-bit weights; 0: cannot
    pj_per_mac: np.ndarray  # (n, S, 17) dynamic energy per MAC
    lane_of: np.ndarray  # (n, 17) int: the sub-array that runs w-bit weights
    stored_bits: np.ndarray  # (n, 17) bits a w-bit weight occupies in DRAM (16: dense width)
    cols: np.ndarray  # (n, S) array columns (activations are re-read once per column tile)
    head_bits: np.ndarray  # (n,) compute width of the 16-bit LM head
    attn_bits: np.ndarray  # (n,) compute width of attention (activations x KV cache)
    act_bits: np.ndarray  # (n,) activation width in memory
    weight_sram_read_pj_bit: np.ndarray  # (n,)
    weight_sram_write_pj_bit: np.ndarray  # (n,)
    act_sram_read_pj_bit: np.ndarray  # (n,)
    act_sram_write_pj_bit: np.ndarray  # (n,)
    dram_pj_bit: np.ndarray  # (n,)
    dram_bytes_per_s: np.ndarray  # (n,)
    act_sram_bytes: np.ndarray  # (n,) on-chip room for activations before they spill
    static_w: np.ndarray  # (n,) power drawn for the whole latency (board power of a GPU)
    area_mm2: np.ndarray  # (n,) NaN when unknown
    pe_area_um2: np.ndarray  # (n, S)
    pe_power_uw: np.ndarray  # (n, S) at the design's clock, full activity
    pe_count: np.ndarray  # (n, S)
    bitplane: np.ndarray  # (n,) bool: weights stored as bit planes
    capacity_bytes: np.ndarray  # (n,) DRAM capacity, inf when unknown
    # --- terms a family may leave at their neutral default ---------------------------------
    # (n, 17) seconds per weight byte of w-bit weights over the streaming rate (1: as fast as
    # dense); a GPU's weight-only kernels dequantize in registers and stream slower
    weight_time_factor: np.ndarray | None = None
    layer_overhead_s: np.ndarray | None = None  # (n,) fixed time per layer per forward pass
    # (n,) share of a GEMM's shorter phase (compute or memory) hidden behind the longer: 1 is
    # the roofline maximum (double-buffered arrays); a GPU near its ridge point hides less
    overlap: np.ndarray | None = None
    busy_w: np.ndarray | None = None  # (n,) board power above static at full utilisation
    max_w: np.ndarray | None = None  # (n,) power cap (a GPU's TDP): energy <= max_w x time
    vector_ops_per_s: np.ndarray | None = None  # (n,) elementwise ops/s (inf: free)
    vector_pj_per_op: np.ndarray | None = None  # (n,) energy per elementwise op
    tech_nm: np.ndarray | None = None  # (n,) technology node
    # (n,) part of area_mm2 that does not scale with the node (DRAM PHY)
    fixed_area_mm2: np.ndarray | None = None
    area_scope: str = "array + SRAM + DRAM PHY"  # what area_mm2 covers ("die" for a product)

    def __post_init__(self) -> None:
        n = self.stored_bits.shape[0]
        neutral = {
            "weight_time_factor": np.ones((n, WIDTHS)),
            "layer_overhead_s": np.zeros(n),
            "overlap": np.ones(n),
            "busy_w": np.zeros(n),
            "max_w": np.full(n, np.inf),
            "vector_ops_per_s": np.full(n, np.inf),
            "vector_pj_per_op": np.zeros(n),
            "tech_nm": np.full(n, np.nan),
            "fixed_area_mm2": np.zeros(n),
        }
        for name, value in neutral.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)


class Family(ABC):
    """A kind of compute unit. Subclasses set `name`, `description`, `fields`, `searched` and
    implement `rates`; tests/simulators/test_family_registry.py fails for one that lacks any."""

    name: ClassVar[str]
    description: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    searched: ClassVar[tuple[SearchedField, ...]]  # what the search varies (may be empty)

    def prepare(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        """Hook: fill defaults that depend on other fields (e.g. a datasheet) before checks."""
        return raw

    def check(self, params: dict[str, Any], where: str) -> None:  # noqa: B027 - optional hook
        """Hook: cross-field checks after each field is valid; raise CodesignError."""

    def resolve(self, params: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        """Hook: replace 'measure' values by measurements, saying so in `notes`."""
        return params

    def to_arrays(self, params: list[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Struct-of-arrays of numeric fields: {field.key: (n,) array}."""
        out: dict[str, np.ndarray] = {}
        for f in self.fields:
            if f.kind in ("int", "float"):
                vals = [np.nan if p[f.name] is None else p[f.name] for p in params]
                out[f.key] = np.asarray(vals, dtype=float)
            elif f.kind == "bool" or f.kind == "choice":
                out[f.key] = np.asarray([p[f.name] for p in params])
        return out

    @abstractmethod
    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        """Cost tables for n designs given their arrays."""


# --- fields and memory system shared by the accelerator families --------------------------------
ACCELERATOR_FIELDS: tuple[Field, ...] = (
    Field("clock_mhz", "float", low=1e-3, help="array clock"),
    Field("tech_nm", "float", 45.0, low=1.0, help="technology node (scaling: stated assumption)"),
    Field("act_bits", "int", 8, low=1, high=16, help="activation width (W{n}A{act_bits})"),
    Field("sram.weight_kb", "float", low=0.0, help="on-chip weight buffer"),
    Field("sram.act_kb", "float", low=0.125, help="on-chip activation buffer (>= 128 B)"),
    Field("dram.bandwidth_gbs", "float", low=1e-6, help="off-chip bandwidth"),
    Field(
        "dram.type",
        "choice",
        cal.DEFAULT_DRAM,
        choices=tuple(cal.DRAM_PJ_PER_BIT),
        help="memory type: its energy per bit (calibration.DRAM_PJ_PER_BIT)",
    ),
    Field(
        "dram.pj_per_bit",
        "float",
        None,
        low=0.0,
        help="off-chip energy per bit (default: from dram.type)",
    ),
    Field("dram.capacity_gb", "float", None, low=0.0, help="off-chip capacity (optional)"),
    Field("weight_storage", "choice", "packed", choices=("packed", "bitplane")),
    Field(
        "vector.lanes",
        "int",
        int(cal.VECTOR_LANES_DEFAULT.value),
        low=1,
        help="fp16 lanes of the vector unit (norms, softmax, activation, residual)",
    ),
)
ARRAY_FIELDS: tuple[Field, ...] = (
    Field("array.rows", "int", low=1, help="PE rows"),
    Field("array.cols", "int", low=1, help="PE columns"),
)
META_FIELDS: tuple[Field, ...] = (
    Field("name", "str"),
    Field("family", "str"),
    Field("description", "str", ""),
    Field("source", "str", "", help="where the design point's parameters come from"),
)


def memory_system(a: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """SRAM/DRAM bandwidth and energies, SRAM leakage and area, DRAM PHY area and the vector
    unit of accelerator designs (calibration tables at 45 nm, scaled to the design's node; the
    PHY is not scaled)."""
    energy_scale = cal.tech_energy_scale(a["tech_nm"])
    area_scale = cal.tech_area_scale(a["tech_nm"])
    capacity = a["dram_capacity_gb"] * 1e9
    lanes = a["vector_lanes"]
    weight_kb, act_kb = a["sram_weight_kb"], a["sram_act_kb"]
    sram_leak_w = (cal.sram_leakage_mw(weight_kb) + cal.sram_leakage_mw(act_kb)) * 1e-3
    return {
        # both buffers under one rule (calibration.sram_read/write_pj_per_bit)
        "weight_sram_read_pj_bit": cal.sram_read_pj_per_bit(weight_kb) * energy_scale,
        "weight_sram_write_pj_bit": cal.sram_write_pj_per_bit(weight_kb) * energy_scale,
        "act_sram_read_pj_bit": cal.sram_read_pj_per_bit(act_kb) * energy_scale,
        "act_sram_write_pj_bit": cal.sram_write_pj_per_bit(act_kb) * energy_scale,
        "vector_ops_per_s": lanes * a["clock_mhz"] * 1e6,
        "vector_pj_per_op": cal.fp16_fma_pj() * energy_scale * cal.vf_energy_scale(a["clock_mhz"]),
        "vector_mm2": lanes * cal.fp16_fma_um2() * area_scale / 1e6,
        "dram_pj_bit": np.where(
            np.isnan(a["dram_pj_per_bit"]),
            cal.dram_pj_per_bit(a["dram_type"]),
            a["dram_pj_per_bit"],
        ).astype(float),
        "dram_bytes_per_s": a["dram_bandwidth_gbs"] * 1e9,
        "act_sram_bytes": act_kb * 1024.0,
        "static_w": sram_leak_w * energy_scale,  # PE leakage is added by the family
        "sram_mm2": (cal.sram_um2(weight_kb) + cal.sram_um2(act_kb)) * area_scale / 1e6,
        "dram_phy_mm2": cal.dram_phy_mm2(a["dram_type"], a["dram_bandwidth_gbs"]),
        "bitplane": a["weight_storage"] == "bitplane",
        "capacity_bytes": np.where(np.isnan(capacity), np.inf, capacity),
    }


def first_supported(supported: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis (0 where none)."""
    return np.argmax(supported, axis=-1)


SRAM_FIELDS = (
    "weight_sram_read_pj_bit",
    "weight_sram_write_pj_bit",
    "act_sram_read_pj_bit",
    "act_sram_write_pj_bit",
)


def sram_energies(mem: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Rates fields of both buffers' read and write energies, from memory_system."""
    return {name: mem[name] for name in SRAM_FIELDS}


def single_array_rates(
    a: Mapping[str, np.ndarray],
    n: int,
    *,
    macs_per_cycle: np.ndarray,
    pj_per_mac: np.ndarray,
    stored_bits: np.ndarray,
    pe_um2: np.ndarray,
    pe_pj_cycle: np.ndarray,
    pe_leak_uw: np.ndarray,
    head_bits: np.ndarray,
) -> Rates:
    """Rates of a one-array accelerator from per-PE tables (n, 17) and per-PE figures (n,):
    area, dynamic energy per cycle and leakage, all at 45 nm in a 4 x 4 array, moved to the
    array's shape by pe_shape.shape_factor (Bit Fusion's whole synthesis table)."""
    mem = memory_system(a, n)
    rows, cols = a["array_rows"], a["array_cols"]
    dynamic = shape_factor("dynamic_uw", rows, cols)
    pj_per_mac, pe_pj_cycle = pj_per_mac * dynamic[:, None], pe_pj_cycle * dynamic
    pe_um2 = pe_um2 * shape_factor("area_um2", rows, cols)
    pe_leak_uw = pe_leak_uw * shape_factor("leakage_uw", rows, cols)
    pe_count = rows * cols
    clock_hz = a["clock_mhz"] * 1e6
    energy_scale = cal.tech_energy_scale(a["tech_nm"])[:, None]
    dynamic_scale = energy_scale * cal.vf_energy_scale(a["clock_mhz"])[:, None]
    pe_area = pe_um2 * cal.tech_area_scale(a["tech_nm"])
    act_bits = a["act_bits"].astype(np.int64)
    return Rates(
        macs_per_s=(macs_per_cycle * (pe_count * clock_hz)[:, None])[:, None, :],
        pj_per_mac=(pj_per_mac * dynamic_scale)[:, None, :],
        lane_of=np.zeros((n, WIDTHS), dtype=np.int64),
        stored_bits=stored_bits,
        cols=a["array_cols"][:, None],
        head_bits=head_bits.astype(np.int64),
        attn_bits=act_bits,
        act_bits=act_bits,
        **sram_energies(mem),
        dram_pj_bit=mem["dram_pj_bit"],
        dram_bytes_per_s=mem["dram_bytes_per_s"],
        act_sram_bytes=mem["act_sram_bytes"],
        static_w=mem["static_w"] + pe_count * pe_leak_uw * energy_scale[:, 0] * 1e-6,
        area_mm2=pe_count * pe_area / 1e6
        + mem["sram_mm2"]
        + mem["vector_mm2"]
        + mem["dram_phy_mm2"],
        fixed_area_mm2=mem["dram_phy_mm2"],
        pe_area_um2=pe_area[:, None],
        pe_power_uw=(pe_pj_cycle * dynamic_scale[:, 0] * a["clock_mhz"])[:, None],
        pe_count=pe_count[:, None],
        bitplane=mem["bitplane"],
        capacity_bytes=mem["capacity_bytes"],
        vector_ops_per_s=mem["vector_ops_per_s"],
        vector_pj_per_op=mem["vector_pj_per_op"],
        tech_nm=a["tech_nm"].astype(float),
    )


def exact_storage(n: int) -> np.ndarray:
    """Weights stored at their own width (index 16, dense, at 16 bits)."""
    return np.broadcast_to(BITS.astype(float), (n, WIDTHS)).copy()
