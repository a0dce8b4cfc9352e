"""Per-member, per-GEMM costs of an ensemble on a batch of designs: the roofline inputs.

For every design n, member m and GEMM g: compute seconds (MACs over the sub-array's rate for
the member's width), DRAM bytes (weights at their stored width, re-fetched when activations do
not fit on chip; spilled activations; the KV cache), and dynamic energy (MACs, SRAM, DRAM).
Schedules combine these arrays; nothing here knows about schedules.

Model statements: the LM head and attention run at the unit's widest weight width and at the
activation width respectively; attention keeps its scores on chip (flash-attention style), so
its traffic is the KV cache; every operand passes through SRAM once (written, then read), and
activations are re-read once per tile of array columns; utilisation is ideal (no tiling loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codesign.simulators.families import Rates
from codesign.simulators.variants import SCALE_BITS, Variant, group_count
from codesign.simulators.workload import ATTENTION, HEAD, LINEAR, GemmTable, Workload


@dataclass(frozen=True, eq=False)
class MemberArrays:
    """Per-member constants of a variant tuple, shaped to broadcast against (n, m, G)."""

    bits: np.ndarray  # (m,) int: 16 for dense
    has_meta: np.ndarray  # (m,) 0/1
    meta_groups: np.ndarray  # (m, G) (groups x out channels) per GEMM entry, all layers
    nest: np.ndarray  # (m,) int: members with equal ids can share one bit-plane store

    @classmethod
    def of(cls, variants: Sequence[Variant], table: GemmTable) -> MemberArrays:
        linear = table.kind == LINEAR
        meta = np.stack(
            [
                np.where(linear, group_count(table.k, v.group_size) * table.n * table.count, 0.0)
                for v in variants
            ]
        )
        keys: dict[tuple, int] = {}
        nest = [keys.setdefault(v.nest_key, len(keys)) for v in variants]
        return cls(
            bits=np.asarray([v.bits for v in variants], dtype=np.int64),
            has_meta=np.asarray([1.0 if v.has_metadata else 0.0 for v in variants]),
            meta_groups=meta,
            nest=np.asarray(nest, dtype=np.int64),
        )


@dataclass(frozen=True, eq=False)
class MemberCosts:
    """The arrays schedules combine (n designs, m members, G GEMM entries)."""

    rates: Rates
    table: GemmTable
    members: MemberArrays
    compute_s: np.ndarray  # (n, m, G)
    weight_bytes: np.ndarray  # (n, m, G) DRAM weight bytes, re-fetches included
    other_bytes: np.ndarray  # (n, 1, G) spilled activations + KV cache, per member
    kinds: _KindTables  # gathered rate tables, for the sub-array each GEMM runs on
    mac_j: np.ndarray  # (n, m, G)
    act_sram_j: np.ndarray  # (n, m, G)
    refetch: np.ndarray  # (n, 1, G)
    stored_bits: np.ndarray  # (n, m) stored width of each member's quantized weights
    feasible: np.ndarray  # (n,)

    def lane(self) -> np.ndarray:
        """(n, m, G) the sub-array each member's GEMM runs on (computed on demand)."""
        if self.rates.macs_per_s.shape[1] == 1:
            return np.broadcast_to(np.zeros((1, 1, 1), dtype=np.int64), self.compute_s.shape)
        return self.kinds.spread(np.zeros(len(self.table), dtype=np.int64), "lane", np.add)

    @property
    def bandwidth(self) -> np.ndarray:
        return self.rates.dram_bytes_per_s[:, None, None]

    def memory_s(self) -> np.ndarray:
        """(n, m, G) seconds to move each member's bytes on its own."""
        return (self.weight_bytes + self.other_bytes) / self.bandwidth

    def weight_sram_j(self, weight_bytes: np.ndarray) -> np.ndarray:
        """Energy of writing then reading `weight_bytes` through the weight buffer."""
        return weight_bytes * 16.0 * self.rates.weight_sram_pj_bit[:, None, None] * 1e-12

    def dram_j(self, nbytes: np.ndarray) -> np.ndarray:
        return nbytes * 8.0 * self.rates.dram_pj_bit[:, None, None] * 1e-12

    def shared_weight_bytes(self) -> np.ndarray:
        """(n, 1, G) one fetch serving every member: per nest group the planes of its widest
        member, plus every member's scales and zeros (bit-plane storage)."""
        t, mb = self.table, self.members
        widest = np.zeros((self.stored_bits.shape[0], 1, len(t)))
        for group in np.unique(mb.nest):
            sel = mb.nest == group
            top = np.max(self.stored_bits[:, sel], axis=1)  # (n,)
            widest += np.where(t.kind == LINEAR, t.params * top[:, None] / 8.0, 0.0)[:, None, :]
        head = np.where(t.kind == HEAD, t.params * self.rates.stored_bits[:, 16:17] / 8.0, 0.0)
        meta = np.einsum(
            "nm,mg->ng", mb.has_meta * (SCALE_BITS + self.stored_bits) / 8.0, mb.meta_groups
        )
        return (widest + (head + meta)[:, None, :]) * self.refetch


class _KindTables:
    """Rate tables gathered per GEMM kind: linears per member (n, m), the LM head and
    attention per design (n, 1); `spread` lays a per-GEMM quantity out as (n, m, G)."""

    FIELDS = ("rate", "pj", "lane", "cols")

    def __init__(self, rates: Rates, table: GemmTable, bits: np.ndarray) -> None:
        self.n, self.m = rates.macs_per_s.shape[0], len(bits)
        self.masks = (table.kind == LINEAR, table.kind == HEAD, table.kind == ATTENTION)
        order = np.concatenate([np.flatnonzero(k) for k in self.masks])
        if not np.array_equal(order, np.arange(len(table))):
            raise ValueError("GemmTable entries must be ordered linears, head, attention")
        widths = (
            np.broadcast_to(bits[None, :], (self.n, self.m)),
            rates.head_bits[:, None],
            rates.attn_bits[:, None],
        )
        self.blocks = [self._gather(rates, w) for w in widths]

    @staticmethod
    def _gather(rates: Rates, bits: np.ndarray) -> dict[str, np.ndarray]:
        rows = np.arange(bits.shape[0])[:, None]
        lane = rates.lane_of[rows, bits]
        return {
            "rate": rates.macs_per_s[rows, lane, bits][:, :, None],
            "pj": rates.pj_per_mac[rows, lane, bits][:, :, None],
            "lane": lane[:, :, None],
            "cols": rates.cols[rows, lane][:, :, None],
        }

    def spread(self, values: np.ndarray, field: str, combine) -> np.ndarray:
        """(n, m, G): combine(values of the kind's entries, the kind's gathered `field`)."""
        parts = [
            combine(values[mask], block[field])
            for mask, block in zip(self.masks, self.blocks, strict=True)
        ]
        shape = (self.n, self.m)
        return np.concatenate([np.broadcast_to(p, (*shape, p.shape[2])) for p in parts], axis=2)


def _weight_bytes(rates: Rates, t: GemmTable, mb: MemberArrays, stored: np.ndarray) -> np.ndarray:
    """(n, m, G) weight bytes per pass: quantized linears at their stored width with scales and
    zeros, the LM head at the dense width, nothing for attention."""
    n, m = stored.shape
    lin, head, attn = (t.kind == LINEAR, t.kind == HEAD, t.kind == ATTENTION)
    s3 = stored[:, :, None]
    meta = mb.has_meta[None, :, None] * mb.meta_groups[None, :, lin] * (SCALE_BITS + s3) / 8.0
    blocks = [
        t.params[lin] * s3 / 8.0 + meta,
        t.params[head] * rates.stored_bits[:, 16][:, None, None] / 8.0,
        np.zeros((n, 1, int(attn.sum()))),
    ]
    return np.concatenate([np.broadcast_to(b, (n, m, b.shape[2])) for b in blocks], axis=2)


def _activations(rates: Rates, t: GemmTable, kv_bits: int) -> dict[str, np.ndarray]:
    """Activation bytes per layer (n, G); spills past the on-chip buffer and the weight
    re-fetches they force; KV-cache bytes (G,)."""
    act_byte = rates.act_bits[:, None] / 8.0
    dense = t.kind != ATTENTION
    act_in = np.where(dense, t.m * t.k, 0.0) * act_byte
    act_out = np.where(dense, t.m * t.n, 0.0) * act_byte
    room = rates.act_sram_bytes[:, None]
    spills = np.maximum(act_in, act_out) > room
    kv = (t.kv_read + t.kv_write) * kv_bits / 8.0
    return {
        "in": act_in,
        "out": act_out,
        "kv": kv,
        "refetch": np.where(spills, np.ceil(act_in / room), 1.0)[:, None, :],
        "dram": (np.where(spills, (act_in + act_out) * t.count, 0.0) + kv)[:, None, :],
    }


def member_costs(rates: Rates, workload: Workload, variants: Sequence[Variant]) -> MemberCosts:
    """Every member's per-GEMM compute time, DRAM bytes and dynamic energy on every design."""
    t = workload.gemms()
    mb = MemberArrays.of(variants, t)
    kinds = _KindTables(rates, t, mb.bits)
    with np.errstate(divide="ignore"):
        compute_s = kinds.spread(t.macs, "rate", np.divide)  # unsupported width: inf
    stored = rates.stored_bits[np.arange(kinds.n)[:, None], mb.bits[None, :]]  # (n, m)
    act = _activations(rates, t, workload.kv_bits)
    if rates.macs_per_s.shape[1] == 1:  # one array: the same columns for every member
        rereads = np.ceil(t.n / rates.cols[:, :1, None])  # (n, 1, G)
    else:
        rereads = kinds.spread(t.n, "cols", lambda n_out, cols: np.ceil(n_out / cols))
    act_sram = (act["in"][:, None, :] * rereads + act["out"][:, None, :]) * t.count
    act_sram = (act_sram + 2.0 * act["kv"]) * 8.0 * rates.act_sram_pj_bit[:, None, None] * 1e-12
    return MemberCosts(
        rates=rates,
        table=t,
        members=mb,
        compute_s=compute_s,
        weight_bytes=_weight_bytes(rates, t, mb, stored) * act["refetch"],
        other_bytes=act["dram"],
        kinds=kinds,
        mac_j=kinds.spread(t.macs * 1e-12, "pj", np.multiply),
        act_sram_j=np.broadcast_to(act_sram, compute_s.shape),
        refetch=act["refetch"],
        stored_bits=stored,
        feasible=np.all(np.isfinite(compute_s), axis=(1, 2)),
    )
