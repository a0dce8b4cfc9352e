"""Quantized variants as data, and the bytes their weights take.

A variant is (method, bits, group size, seed), the same key the measurements use. Weight bytes
of GPTQ/AWQ: the packed `bits` per weight, plus per output channel and per group of
`group_size` input channels one fp16 scale and one zero point packed at `bits`. The dense
variant is 16 bits with no group metadata. Embeddings, norms and biases stay at 16 bits in every
variant (the quantizers leave them alone), so they are counted apart; the LM head too unless
`head_bits` says it was quantized (gpt-fast and torchao quantize every Linear, EXL2 the head at
6 bits): then it is costed at its own width.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError
from codesign.simulators.workload import ModelShape

METHODS = ("dense", "gptq", "awq", "anyprec")
NESTED_METHODS = ("anyprec",)  # members are the top bit-planes of one set by construction
STORAGE_RULE = (
    "every unit stores a w-bit weight packed at w bits (GPTQ/AWQ packing: 3-bit weights take 3 "
    "bits); a unit that computes at a wider width (Bit Fusion: 3 -> 4) widens it on chip"
)
SCALE_BITS = 16  # one fp16 scale per output channel per group


@dataclass(frozen=True)
class Variant:
    """One precision of the ensemble: method, weight bits, group size (None = per channel)."""

    method: str
    bits: int
    group_size: int | None = 128
    seed: int = 0
    head_bits: int | None = None  # None: the LM head stays dense

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise CodesignError(f"unknown method {self.method!r} (known: {', '.join(METHODS)})")
        if self.method == "dense" and (self.bits != 16 or self.group_size is not None):
            raise CodesignError("the dense variant is 16 bits with no group size")
        if self.method != "dense" and not 1 <= self.bits <= 8:
            raise CodesignError(f"{self.method} bits must be 1-8, got {self.bits}")
        if self.group_size is not None and self.group_size <= 0:
            raise CodesignError(f"group size must be positive or None, got {self.group_size}")
        if self.head_bits is not None and not 1 <= self.head_bits <= 16:
            raise CodesignError(f"head bits must be 1-16 or None, got {self.head_bits}")

    @classmethod
    def dense(cls) -> Variant:
        return cls("dense", 16, None)

    @property
    def key(self) -> str:
        if self.method == "dense":
            return "dense-16"
        group = f"g{self.group_size}" if self.group_size else "gch"
        seed = f"-s{self.seed}" if self.seed else ""
        head = f"-head{self.head_bits}" if self.head_bits is not None else ""
        return f"{self.method}-w{self.bits}-{group}{seed}{head}"

    @property
    def has_metadata(self) -> bool:
        return self.method != "dense"

    @property
    def nested(self) -> bool:
        """Quantized so that each narrower member is the top bit-planes of the widest one."""
        return self.method in NESTED_METHODS

    @property
    def nest_key(self) -> tuple[str, int | None, int, int]:
        """Variants with equal nest keys share one bit-plane store. Only members of one nested
        set do (same method, group and seed); an independent quantization (GPTQ, AWQ) is its
        own set, since its 3-bit weights are not the top planes of its 8-bit ones."""
        return (self.method, self.group_size, self.seed, 0 if self.nested else self.bits)


def one_nested_set(variants: Sequence[Variant]) -> bool:
    """Several members that are the top bit-planes of one quantization (share their planes)."""
    return len(variants) > 1 and len({v.nest_key for v in variants}) == 1


def variants_from_bits(
    bits: Iterable[int], method: str = "gptq", group_size: int | None = 128
) -> tuple[Variant, ...]:
    """Variants for a bit list; 16 means the dense model."""
    out = tuple(Variant.dense() if b == 16 else Variant(method, int(b), group_size) for b in bits)
    if not out:
        raise CodesignError("an ensemble needs at least one variant")
    return out


def group_count(k: np.ndarray, group_size: int | None) -> np.ndarray:
    """Quantization groups along the input dimension (one per channel when group_size is None)."""
    k = np.asarray(k, dtype=float)
    return np.ones_like(k) if group_size is None else np.ceil(k / group_size)


def linear_bytes(
    params: np.ndarray, meta_groups: np.ndarray, bits: np.ndarray, has_meta: np.ndarray
) -> np.ndarray:
    """Bytes of quantized linears: packed weights plus fp16 scales and packed zero points.

    params: weight elements; meta_groups: (groups x out channels) entries; bits: stored bits
    per weight (and per zero point); has_meta: 0/1. Broadcasts.
    """
    return params * bits / 8.0 + has_meta * meta_groups * (SCALE_BITS + bits) / 8.0


def metadata_groups(model: ModelShape, variant: Variant) -> float:
    """(groups x output channels) summed over every quantized linear of the model."""
    total = 0.0
    for _, k, n in model.linear_shapes():
        total += float(group_count(np.asarray(k), variant.group_size)) * n
    return total * model.layers


@dataclass(frozen=True)
class WeightBytes:
    """Stored weight bytes of one variant, split into what is quantized and what is not."""

    quantized: float
    metadata: float
    unquantized: float

    @property
    def total(self) -> float:
        return self.quantized + self.metadata + self.unquantized


def weight_bytes(
    model: ModelShape, variant: Variant, *, stored_bits: int | None = None, dense_bits: int = 16
) -> WeightBytes:
    """Bytes of one variant's weights; `stored_bits` overrides the container width of a
    quantized weight (e.g. a 3-bit weight in a 4-bit container), `dense_bits` the width of
    dense and unquantized tensors (16, or 32 for an fp32 CPU run)."""
    bits = dense_bits if variant.method == "dense" else (stored_bits or variant.bits)
    groups = metadata_groups(model, variant) if variant.has_metadata else 0.0
    quantized = model.linear_params * bits / 8.0
    metadata = groups * (SCALE_BITS + bits) / 8.0
    return WeightBytes(quantized, metadata, model.unquantized_params * dense_bits / 8.0)


def ensemble_keys(variants: Sequence[Variant]) -> str:
    return "+".join(v.key for v in variants)
