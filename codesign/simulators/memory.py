"""Memory footprint of an ensemble deployment: stored weights plus KV caches.

Packed storage keeps every member's quantized weights; bit-plane storage keeps, per group of
nested members (same method, group size and seed), the planes of the widest member once plus
every member's scales and zeros. Tensors no quantizer touches (embeddings, LM head, norms,
biases) are identical across members and stored once. Members that run concurrently hold their
KV caches at once; members that run one after another free theirs in between. Activation
workspace is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codesign.simulators.families import Rates
from codesign.simulators.variants import SCALE_BITS, Variant, metadata_groups
from codesign.simulators.workload import Workload


@dataclass(frozen=True, eq=False)
class Footprint:
    """Bytes per design (n,): weights, KV cache, and their sum."""

    weights: np.ndarray
    kv_cache: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.weights + self.kv_cache


def footprint(
    rates: Rates,
    workload: Workload,
    variants: Sequence[Variant],
    *,
    concurrent: bool,
    force_bitplane: bool = False,
) -> Footprint:
    """Deployment memory of `variants` on each design of `rates`."""
    model = workload.model
    n = rates.stored_bits.shape[0]
    bits = np.asarray([v.bits for v in variants])
    stored = rates.stored_bits[:, bits]  # (n, m)
    meta = np.asarray([metadata_groups(model, v) if v.has_metadata else 0.0 for v in variants])
    meta_bytes = meta[None, :] * (SCALE_BITS + stored) / 8.0  # (n, m)
    quantized = model.linear_params * stored / 8.0  # (n, m)
    packed = np.sum(quantized + meta_bytes, axis=1)
    plane = np.sum(meta_bytes, axis=1)
    groups: dict[tuple, list[int]] = {}
    for i, v in enumerate(variants):
        groups.setdefault(v.nest_key, []).append(i)
    for members in groups.values():
        plane = plane + np.max(quantized[:, members], axis=1)
    bitplane = np.asarray(rates.bitplane) | force_bitplane
    unquantized = model.unquantized_params * rates.stored_bits[:, 16] / 8.0
    weights = np.where(bitplane, plane, packed) + unquantized
    kv_one = workload.kv_cache_bytes()
    kv = np.full(n, kv_one * (len(variants) if concurrent else 1))
    return Footprint(weights=weights, kv_cache=kv)
