"""Precision-ensemble voting (Algorithm 1 of arXiv 2511.22483), vectorised over items and subsets.

Every ensemble subset, vote rule and cascade order is scored from stored per-item labels, with
no extra model run, so this must be fast: all 255 subsets of 8 members × 10,000 items well
under a second. Labels are int codes: ``codes[n_items, m_members]`` with label indices ≥ 0,
``INVALID_CODE`` and ``REFUSED_CODE`` as negative sentinels.

The rule: drop INVALID; drop REFUSED unless ``refusal_as`` makes a refusal a vote (out-of-scope
knowledge, where "I don't know" is an answer: pass the IDK label's index, or ``REFUSED_CODE``
to keep refusal as its own answer); the label with most votes (or most weight) wins; a tie goes
to the label of the highest-precision member among those voting for the tied labels, and
between members of equal bits to the one listed first; nothing left → ``REFUSED_CODE``.

How it is vectorised: each member's ballot is worth ``weight · 2^m + 2^(m-1-rank)``, where
``rank`` is its tie-break priority (0 = highest precision). A label's key is the sum over its
voters, so comparing keys compares weight totals first and, on a tie, whose best voter ranks
higher (disjoint sums of distinct powers of two compare by their highest bit). Keys are linear
in subset membership, so one matrix product per label scores every subset at once. Weights
are quantised to integers (``quantize_weights``) so sums, and therefore ties, are exact.
Cascades live in ``codesign.ensembles.early_exit``; the readable per-item reference the tests
check this against is ``tests/ensembles/voting_reference.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codesign.measurements.evaluate.labels import INVALID, REFUSED

INVALID_CODE = -1
REFUSED_CODE = -2
MAX_MEMBERS = 24  # keys stay exact integers in float64: m · 2^(20+m+1) < 2^53
WEIGHT_BITS = 20
_BLOCK_ELEMENTS = 1 << 16  # subsets × items per block: fits in cache


def encode_labels(values: Sequence | np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Parsed labels (any shape of ``str``) → int codes; ``INVALID``/``REFUSED`` → sentinels."""
    table = {label: i for i, label in enumerate(labels)}
    if len(table) != len(labels):
        raise ValueError(f"labels must be distinct, got {list(labels)!r}")
    table |= {INVALID: INVALID_CODE, REFUSED: REFUSED_CODE}
    arr = np.asarray(values, dtype=object)
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    unknown = [u for u in uniq if u not in table]
    if unknown:
        raise ValueError(f"not a label of {list(labels)!r}: {unknown[:5]!r}")
    mapped = np.array([table[u] for u in uniq], dtype=np.int64)
    return mapped[inverse].reshape(arr.shape)


def decode_labels(codes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Int codes → label strings (object array, same shape); the inverse of encode_labels."""
    codes = np.asarray(codes)
    names = np.array([*labels, INVALID, REFUSED], dtype=object)  # code −1, −2 after the labels
    if codes.size and (codes.min() < REFUSED_CODE or codes.max() >= len(labels)):
        raise ValueError(f"codes must lie in [{REFUSED_CODE}, {len(labels) - 1}]")
    return names[np.where(codes >= 0, codes, len(labels) - 1 - codes)]


def member_priority(bits: Sequence[float]) -> np.ndarray:
    """Tie-break rank per member: 0 = highest bits; equal bits → lower member index first."""
    bits = np.asarray(bits, dtype=float)
    order = np.lexsort((np.arange(len(bits)), -bits))
    rank = np.empty(len(bits), dtype=np.int64)
    rank[order] = np.arange(len(bits))
    return rank


def quantize_weights(weights: Sequence[float] | None, m: int) -> np.ndarray:
    """Integer weights so weighted sums and ties are exact and independent of summation order.

    Weights are scaled by a power of two (exact) so the largest lies in [2^19, 2^20), then
    rounded: dyadic weights such as 0.75 stay exact, others keep 20 significant bits.
    """
    if weights is None:
        return np.ones(m, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    if w.shape != (m,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be {m} finite non-negative numbers, got {weights!r}")
    top = w.max() if m else 0.0
    if top == 0:
        return np.zeros(m, dtype=np.int64)
    _, exponent = np.frexp(top)
    return np.rint(np.ldexp(w, WEIGHT_BITS - int(exponent))).astype(np.int64)


def subset_masks(m: int) -> np.ndarray:
    """All non-empty subsets as bool masks ``(2^m − 1, m)``; row ``r`` is bitmask ``r + 1``."""
    if not 1 <= m <= MAX_MEMBERS:
        raise ValueError(f"need 1..{MAX_MEMBERS} members, got {m}")
    bitmasks = np.arange(1, 1 << m, dtype=np.int64)
    return ((bitmasks[:, None] >> np.arange(m)) & 1).astype(bool)


@dataclass(frozen=True)
class Ballots:
    """Votes ready for key arithmetic: class per item and member (−1 = abstains), ballot values."""

    cls: np.ndarray  # (n_items, m) class index, −1 where the member's vote is dropped
    class_codes: np.ndarray  # (K,) the code each class stands for
    value: np.ndarray  # (m,) float64 ballot value weight·2^m + 2^(m-1-rank), exact integers

    @property
    def m(self) -> int:
        return self.value.shape[0]


def ballots(
    codes: np.ndarray,
    bits: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> Ballots:
    """Validate inputs and turn codes into classes and ballot values (shared by every scorer)."""
    codes = _check_codes(codes)
    m = codes.shape[1]
    if len(bits) != m or not 1 <= m <= MAX_MEMBERS:
        raise ValueError(f"need bits for each of 1..{MAX_MEMBERS} members: {m} vs {len(bits)}")
    if refusal_as is not None and refusal_as < 0 and refusal_as != REFUSED_CODE:
        raise ValueError(f"refusal_as must be a label index or REFUSED_CODE, got {refusal_as}")
    mapped = codes.copy()
    if refusal_as is None:
        mapped[codes == REFUSED_CODE] = INVALID_CODE
    else:
        mapped[codes == REFUSED_CODE] = refusal_as
    voting = mapped != INVALID_CODE
    class_codes = np.unique(mapped[voting])
    cls = np.where(voting, np.searchsorted(class_codes, mapped), -1)
    rank = member_priority(bits)
    value = quantize_weights(weights, m) * (1 << m) + (1 << (m - 1 - rank))
    return Ballots(cls, class_codes, value.astype(np.float64))


def vote_table(b: Ballots, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each subset mask and item: (winning class or −1 if nobody voted, key margin).

    The margin is the winner's key minus the best other key (0 for a label nobody voted for);
    cascades compare it with what the members not yet run could still add. Work runs in
    cache-sized blocks of subsets × items with reused buffers: the cost is memory traffic.
    """
    masks = np.asarray(masks, dtype=bool)
    n_sets, n = masks.shape[0], b.cls.shape[0]
    # float32 holds every key exactly when the largest possible sum stays below 2^24.
    dtype = np.float32 if b.value.sum() < (1 << 24) else np.float64
    win = np.full((n_sets, n), -1, dtype=np.int64)
    margin = np.zeros((n_sets, n), dtype=dtype)
    per_class = [
        np.where(b.cls == k, b.value, 0.0).T.astype(dtype) for k in range(len(b.class_codes))
    ]
    rows = max(1, min(n_sets, 256))
    cols = max(1, _BLOCK_ELEMENTS // rows)
    for r0 in range(0, n_sets, rows):
        block = masks[r0 : r0 + rows].astype(dtype)
        for c0 in range(0, n, cols):
            out = (slice(r0, r0 + rows), slice(c0, c0 + cols))
            _vote_block(block, [v[:, out[1]] for v in per_class], win[out], margin[out])
    return win, margin


def _vote_block(
    block: np.ndarray, per_class: list[np.ndarray], win: np.ndarray, margin: np.ndarray
) -> None:
    """Running top-two over labels for one block; writes winners and margins in place."""
    shape = win.shape
    best = np.zeros(shape, dtype=margin.dtype)
    second = np.zeros_like(best)
    key = np.empty_like(best)
    low = np.empty_like(best)
    lead = np.empty(shape, dtype=bool)
    for k, values in enumerate(per_class):
        np.matmul(block, values, out=key)  # sum of ballot values of members voting k
        np.greater(key, best, out=lead)
        np.copyto(win, k, where=lead)
        np.minimum(key, best, out=low)  # the old best when k takes the lead, else key
        np.maximum(second, low, out=second)
        np.maximum(best, key, out=best)
    np.subtract(best, second, out=margin)


def vote_subsets(
    codes: np.ndarray,
    bits: Sequence[float],
    subsets: np.ndarray | None = None,
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """Ensemble label codes ``(n_subsets, n_items)`` for every subset (default: all 2^m − 1).

    ``subsets`` is a bool mask array ``(n_subsets, m)``; by default row ``r`` is the subset
    whose bitmask is ``r + 1`` (bit ``j`` = member ``j``), as from :func:`subset_masks`.
    """
    b = ballots(codes, bits, weights=weights, refusal_as=refusal_as)
    masks = resolve_subsets(subsets, b.m)
    win, _ = vote_table(b, masks)
    return np.append(b.class_codes, REFUSED_CODE)[win]


def vote(
    codes: np.ndarray,
    bits: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """Ensemble label codes ``(n_items,)`` of all members voting together."""
    m = np.asarray(codes).shape[-1]
    everyone = np.ones((1, m), dtype=bool)
    return vote_subsets(codes, bits, everyone, weights=weights, refusal_as=refusal_as)[0]


def accuracy(pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Fraction of items whose code equals gold, over the last axis (refusals count as wrong)."""
    return np.mean(np.asarray(pred) == np.asarray(gold), axis=-1)


def refusal_rate(pred: np.ndarray, refusal_codes: Sequence[int] = (REFUSED_CODE,)) -> np.ndarray:
    """Fraction of items answered with a refusal code, over the last axis.

    In refusal-as-answer mode pass the IDK label's index too, e.g. ``(REFUSED_CODE, 4)``.
    """
    return np.mean(np.isin(np.asarray(pred), list(refusal_codes)), axis=-1)


def _check_codes(codes: np.ndarray) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"codes must be a 2-D int array (items × members), got {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < REFUSED_CODE:
        raise ValueError(f"codes below {REFUSED_CODE} are not labels or sentinels")
    return arr


def resolve_subsets(subsets: np.ndarray | None, m: int) -> np.ndarray:
    """``subsets`` checked as bool masks ``(n_subsets, m)``; ``None`` → every subset."""
    if subsets is None:
        return subset_masks(m)
    masks = np.asarray(subsets, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != m or not masks.any(axis=1).all():
        raise ValueError(f"subsets must be non-empty bool masks of shape (n, {m})")
    return masks
