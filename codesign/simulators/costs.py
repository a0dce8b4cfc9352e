"""Per-member, per-GEMM costs of an ensemble on a batch of designs: the roofline inputs.

For every design n, member m and GEMM g: compute seconds (MACs over the sub-array's rate for
the member's width), DRAM bytes (weights at their stored width, re-fetched when activations do
not fit on chip; spilled activations; the KV cache), and dynamic energy (MACs, SRAM, DRAM).
Schedules combine these arrays; nothing here knows about schedules.

Model statements: the LM head runs at its own width (dense unless the variant quantized it) on
the sub-array that serves that width, attention at the activation width; attention keeps its
scores on chip (flash-attention style): K/V are read once per layer when one sequence's K/V fit
in half the activation buffer, else once per tile of queries that does fit (causal: half of
them on average); every operand passes through SRAM once (written, then read), and activations
are re-read once per tile of array columns; utilisation is ideal (no tiling loss). Weight bytes
of a w-bit member stream at the unit's rate over its kernel's time factor (GPUs); each forward
pass adds a fixed per-layer overhead and the elementwise work on the vector unit.
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
    head_bits: np.ndarray  # (m,) int: the LM head's width, 0 where it stays dense

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
            head_bits=np.asarray([v.head_bits or 0 for v in variants], dtype=np.int64),
        )


@dataclass(frozen=True, eq=False)
class MemberCosts:
    """The arrays schedules combine (n designs, m members, G GEMM entries)."""

    rates: Rates
    table: GemmTable
    members: MemberArrays
    compute_s: np.ndarray  # (n, m, G)
    weight_bytes: np.ndarray  # (n, m, G) DRAM weight bytes, re-fetches included
    time_factor: np.ndarray | None  # (n, m, G) each member's kernel time factor; None: all 1
    other_bytes: np.ndarray  # (n, 1, G) spilled activations + KV cache, per member
    kinds: _KindTables  # gathered rate tables, for the sub-array each GEMM runs on
    mac_j: np.ndarray  # (n, m, G)
    act_sram_j: np.ndarray  # (n, m, G)
    refetch: np.ndarray  # (n, 1, G)
    stored_bits: np.ndarray  # (n, m) stored width of each member's quantized weights
    feasible: np.ndarray  # (n,)
    pass_s: np.ndarray  # (n, 1) per forward pass of one member: layer overhead + vector unit
    vector_j: np.ndarray  # (n, 1) elementwise energy per forward pass of one member

    def lane(self) -> np.ndarray:
        """(n, m, G) the sub-array each member's GEMM runs on (computed on demand)."""
        if self.rates.macs_per_s.shape[1] == 1:
            return np.broadcast_to(np.zeros((1, 1, 1), dtype=np.int64), self.compute_s.shape)
        return self.kinds.spread(np.zeros(len(self.table), dtype=np.int64), "lane", np.add)

    @property
    def bandwidth(self) -> np.ndarray:
        return self.rates.dram_bytes_per_s[:, None, None]

    @property
    def weight_time_bytes(self) -> np.ndarray:
        """(n, m, G) weight bytes scaled by each member's kernel time factor: what the memory
        time of its weights is computed from."""
        if self.time_factor is None:
            return self.weight_bytes
        return self.weight_bytes * self.time_factor

    def memory_s(self) -> np.ndarray:
        """(n, m, G) seconds to move each member's bytes on its own."""
        return (self.weight_time_bytes + self.other_bytes) / self.bandwidth

    def step_s(self, compute_s: np.ndarray, memory_s: np.ndarray) -> np.ndarray:
        """Seconds of GEMMs taking ``compute_s`` to compute and ``memory_s`` to stream: the
        longer of the two plus the part of the shorter not hidden behind it (rates.overlap;
        1, every accelerator family: the plain roofline maximum)."""
        keep = 1.0 - self.rates.overlap.reshape((-1,) + (1,) * (compute_s.ndim - 1))
        return np.maximum(compute_s, memory_s) + keep * np.minimum(compute_s, memory_s)

    def slowest_kernel(self) -> np.ndarray:
        """(n, 1, G) the largest weight time factor among the members (members sharing one
        fetch wait for the slowest kernel)."""
        if self.time_factor is None:
            return np.ones((self.weight_bytes.shape[0], 1, self.weight_bytes.shape[2]))
        return np.max(self.time_factor, axis=1, keepdims=True)

    def weight_sram_j(self, weight_bytes: np.ndarray) -> np.ndarray:
        """Energy of writing then reading `weight_bytes` through the weight buffer."""
        r = self.rates
        pj = r.weight_sram_read_pj_bit + r.weight_sram_write_pj_bit
        return weight_bytes * 8.0 * pj[:, None, None] * 1e-12

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

    def __init__(
        self, rates: Rates, table: GemmTable, bits: np.ndarray, head_bits: np.ndarray
    ) -> None:
        self.n, self.m = rates.macs_per_s.shape[0], len(bits)
        self.masks = (table.kind == LINEAR, table.kind == HEAD, table.kind == ATTENTION)
        order = np.concatenate([np.flatnonzero(k) for k in self.masks])
        if not np.array_equal(order, np.arange(len(table))):
            raise ValueError("GemmTable entries must be ordered linears, head, attention")
        self.widths = (
            np.broadcast_to(bits[None, :], (self.n, self.m)),
            head_widths(rates, head_bits),
            rates.attn_bits[:, None],
        )
        self.blocks = [self._gather(rates, w) for w in self.widths]

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

    def lookup(self, name: str, table: np.ndarray) -> np.ndarray:
        """(n, m, G) a per-width table (n, 17) read at the width each GEMM runs at; kept in the
        blocks under `name`."""
        rows = np.arange(self.n)[:, None]
        for block, widths in zip(self.blocks, self.widths, strict=True):
            block[name] = table[rows, widths][:, :, None]
        return self.spread(np.ones(len(self.masks[0])), name, np.multiply)


def head_widths(rates: Rates, head_bits: np.ndarray) -> np.ndarray:
    """(n, m) compute width of each member's LM head: its own quantized width, else the unit's
    width for the dense head."""
    return np.where(head_bits[None, :] > 0, head_bits[None, :], rates.head_bits[:, None])


def _head_stored(rates: Rates, head_bits: np.ndarray) -> np.ndarray:
    """(n, m) stored bits per LM-head weight: the quantized width, else the dense width."""
    n = rates.stored_bits.shape[0]
    own = rates.stored_bits[np.arange(n)[:, None], np.clip(head_bits, 0, 16)[None, :]]
    return np.where(head_bits[None, :] > 0, own, rates.stored_bits[:, 16:17])


def _weight_bytes(rates: Rates, t: GemmTable, mb: MemberArrays, stored: np.ndarray) -> np.ndarray:
    """(n, m, G) weight bytes per pass: quantized linears at their stored width with scales and
    zeros, the LM head at its width, nothing for attention."""
    n, m = stored.shape
    lin, head, attn = (t.kind == LINEAR, t.kind == HEAD, t.kind == ATTENTION)
    s3 = stored[:, :, None]
    meta = mb.has_meta[None, :, None] * mb.meta_groups[None, :, lin] * (SCALE_BITS + s3) / 8.0
    blocks = [
        t.params[lin] * s3 / 8.0 + meta,
        t.params[head] * _head_stored(rates, mb.head_bits)[:, :, None] / 8.0,
        np.zeros((n, 1, int(attn.sum()))),
    ]
    return np.concatenate([np.broadcast_to(b, (n, m, b.shape[2])) for b in blocks], axis=2)


def kv_read_passes(rates: Rates, t: GemmTable, batch: int, kv_bits: int) -> np.ndarray:
    """(n, G) how many times attention reads the K/V of a sequence (flash-attention tiling).

    One sequence's K/V of one layer fit in half the activation buffer: read once. Otherwise the
    queries go in tiles of what fits in the other half, each tile reads the K/V before it
    (causal), so (tiles + 1) / 2 reads on average. Decode has one query: one read."""
    n = rates.act_sram_bytes.shape[0]
    passes = np.ones((n, len(t)))
    tiled = np.flatnonzero((t.kind == ATTENTION) & (t.queries > 1))
    if tiled.size == 0:  # decode: one query reads the K/V once
        return passes
    room = rates.act_sram_bytes[:, None] / 2.0
    kv_seq = t.kv_read[tiled] * kv_bits / 8.0 / np.maximum(t.count[tiled] * batch, 1.0)
    q_token = t.q_width[tiled] * rates.act_bits[:, None] / 8.0
    tile = np.maximum(np.floor(room / np.maximum(q_token, 1e-30)), 1.0)
    tiles = np.ceil(t.queries[tiled] / tile)
    passes[:, tiled] = np.where(kv_seq[None, :] <= room, 1.0, (tiles + 1.0) / 2.0)
    return passes


def _activations(rates: Rates, t: GemmTable, kv_bits: int, batch: int) -> dict[str, np.ndarray]:
    """Activation bytes per layer (n, G); spills past the on-chip buffer and the weight
    re-fetches they force; KV-cache bytes (n, G) with flash-tiling re-reads."""
    act_byte = rates.act_bits[:, None] / 8.0
    dense = t.kind != ATTENTION
    act_in = np.where(dense, t.m * t.k, 0.0) * act_byte
    act_out = np.where(dense, t.m * t.n, 0.0) * act_byte
    room = rates.act_sram_bytes[:, None]
    spills = np.maximum(act_in, act_out) > room
    reads = t.kv_read * kv_read_passes(rates, t, batch, kv_bits)
    kv = (reads + t.kv_write) * kv_bits / 8.0
    return {
        "in": act_in,
        "out": act_out,
        "kv": kv,
        "refetch": np.where(spills, np.ceil(act_in / room), 1.0)[:, None, :],
        "dram": (np.where(spills, (act_in + act_out) * t.count, 0.0) + kv)[:, None, :],
    }


def _act_sram_j(rates: Rates, act: dict, rereads: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(n, ·, G) activation-buffer energy: inputs read once per column tile, outputs written
    once, the KV cache written in and read out on its way to the array; reads and writes at
    their own energies per bit."""
    read = rates.act_sram_read_pj_bit[:, None, None] * 8e-12
    write = rates.act_sram_write_pj_bit[:, None, None] * 8e-12
    tiles = act["in"][:, None, :] * rereads * count * read + act["out"][:, None, :] * count * write
    return tiles + act["kv"][:, None, :] * (read + write)


def member_costs(rates: Rates, workload: Workload, variants: Sequence[Variant]) -> MemberCosts:
    """Every member's per-GEMM compute time, DRAM bytes and dynamic energy on every design."""
    t = workload.gemms()
    mb = MemberArrays.of(variants, t)
    kinds = _KindTables(rates, t, mb.bits, mb.head_bits)
    with np.errstate(divide="ignore"):
        compute_s = kinds.spread(t.macs, "rate", np.divide)  # unsupported width: inf
    stored = rates.stored_bits[np.arange(kinds.n)[:, None], mb.bits[None, :]]  # (n, m)
    act = _activations(rates, t, workload.kv_bits, workload.batch)
    if rates.macs_per_s.shape[1] == 1:  # one array: the same columns for every member
        rereads = np.ceil(t.n / rates.cols[:, :1, None])  # (n, 1, G)
    else:
        rereads = kinds.spread(t.n, "cols", lambda n_out, cols: np.ceil(n_out / cols))
    act_sram = _act_sram_j(rates, act, rereads, t.count)
    weight_bytes = _weight_bytes(rates, t, mb, stored) * act["refetch"]
    # a GPU's weight-only kernels stream slower than dense; accelerators' factors are all 1
    factor = None
    if not np.all(rates.weight_time_factor == 1.0):
        factor = kinds.lookup("time", rates.weight_time_factor)
    vector_ops = workload.elementwise_ops()
    layers = workload.model.layers + 1  # + the LM head's pass
    return MemberCosts(
        rates=rates,
        table=t,
        members=mb,
        compute_s=compute_s,
        weight_bytes=weight_bytes,
        time_factor=factor,
        other_bytes=act["dram"],
        kinds=kinds,
        mac_j=kinds.spread(t.macs * 1e-12, "pj", np.multiply),
        act_sram_j=np.broadcast_to(act_sram, compute_s.shape),
        refetch=act["refetch"],
        stored_bits=stored,
        feasible=np.all(np.isfinite(compute_s), axis=(1, 2)),
        pass_s=(rates.layer_overhead_s * layers + vector_ops / rates.vector_ops_per_s)[:, None],
        vector_j=(vector_ops * rates.vector_pj_per_op * 1e-12)[:, None],
    )
