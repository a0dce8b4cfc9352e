"""Variants as data: (method, bits, group size, seed) plus the recipe hash that names them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from codesign.errors import CodesignError
from codesign.store import dumps

AUTO_GROUP = 0  # sentinel: 128, or the largest power of two ≤128 dividing every layer width


@dataclass(frozen=True)
class VariantSpec:
    """One point of the quantization grid; the dense model is method "dense" at 16 bits."""

    method: str
    bits: int
    group_size: int | None = AUTO_GROUP
    seed: int = 0

    @property
    def label(self) -> str:
        if self.method == "dense":
            return "dense"
        group = "" if self.group_size in (None, AUTO_GROUP) else f"-g{self.group_size}"
        seed = f"-s{self.seed}" if self.seed else ""
        return f"{self.method}-w{self.bits}{group}{seed}"


DENSE = VariantSpec("dense", 16, None)


def variant_grid(
    methods: list[str], bits: list[int], group_size: int | None, seeds: list[int]
) -> list[VariantSpec]:
    """Dense first, then every (method, bits, seed) in the order given."""
    grid = [DENSE]
    for method in methods:
        for b in bits:
            grid.extend(VariantSpec(method, b, group_size, s) for s in seeds)
    return grid


def quantized_widths(config: dict) -> set[int]:
    """Input widths of the decoder's linear layers (what a quantization group divides)."""
    hidden = int(config["hidden_size"])
    heads = int(config.get("num_attention_heads", 1))
    head_dim = int(config.get("head_dim") or hidden // heads)
    return {hidden, int(config.get("intermediate_size", hidden)), heads * head_dim}


def resolve_group_size(requested: int | None, config: dict) -> tuple[int | None, str]:
    """The group size to use and a note when ``auto`` had to pick other than 128."""
    widths = quantized_widths(config)
    if requested is None or requested == -1:
        return None, ""
    if requested != AUTO_GROUP:
        if requested <= 0 or requested & (requested - 1):
            raise CodesignError(f"group size must be a power of two, got {requested}")
        return requested, ""
    group = 128
    while group > 1 and any(w % group for w in widths):
        group //= 2
    note = ""
    if group != 128:
        bad = sorted(w for w in widths if w % 128)
        note = (
            f"group size 128 does not divide layer width {bad[0]}; "
            f"using {group}, the largest power of two that divides every width"
        )
    return group, note


def indivisible_widths(group_size: int | None, config: dict) -> list[int]:
    if not group_size:
        return []
    return sorted(w for w in quantized_widths(config) if w % group_size)


def recipe_key(recipe: dict) -> str:
    """Stable hash of everything that determines a variant's weights."""
    return hashlib.sha256(dumps(recipe).encode()).hexdigest()
