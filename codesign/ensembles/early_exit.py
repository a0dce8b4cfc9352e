"""Lossless early-exit cascades: run members in an order, stop once the vote cannot change.

A cascade is a schedule the search may choose, so its cost must be known for every subset and
order without running anything: from stored labels, how many members each item needs. The
stopping rule is exact, not a heuristic: after ``t`` members the cascade stops only if no
completion of the remaining members' votes (any label, or an abstaining INVALID) could change
the final result, tie-break included. In key terms (see ``voting``): stop when the leader's key
exceeds every other label's key (0 for a label nobody chose yet) by more than the sum of the
remaining members' ballot values. The result always equals the full vote of the subset.
This assumes any remaining member could return a label other than the leader (≥ 2 labels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codesign.ensembles.vote import ballots, resolve_subsets, vote_table


def ascending_precision_order(bits: Sequence[float]) -> np.ndarray:
    """Member indices from lowest to highest bits (cheap first); equal bits by member index."""
    bits = np.asarray(bits, dtype=float)
    return np.lexsort((np.arange(len(bits)), bits))


def cascade_runs(
    codes: np.ndarray,
    bits: Sequence[float],
    order: Sequence[int] | None = None,
    subsets: np.ndarray | None = None,
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """Members run per subset and item ``(n_subsets, n_items)`` by the lossless early exit.

    ``order`` is a permutation of all members (default: ascending precision); each subset runs
    its own members in that order. Subsets as in ``vote_subsets`` (default: all 2^m − 1).
    """
    b = ballots(codes, bits, weights=weights, refusal_as=refusal_as)
    masks = resolve_subsets(subsets, b.m)
    order = _check_order(ascending_precision_order(bits) if order is None else order, b.m)
    in_order = masks[:, order]
    sizes = in_order.sum(axis=1)
    # Column t of `position` is where, in `order`, the subset's (t+1)-th member sits.
    position = np.argsort(~in_order, axis=1, kind="stable")
    prefix_bitmask = np.cumsum(in_order * (np.int64(1) << order.astype(np.int64)), axis=1)
    prefix_value = np.cumsum(in_order * b.value[order], axis=1)
    total_value = prefix_value[:, -1]

    steps = [t for t in range(1, b.m) if (sizes > t).any()]
    rows_at = {t: np.flatnonzero(sizes > t) for t in steps}
    at = {t: position[rows_at[t], t - 1] for t in steps}
    needed = [prefix_bitmask[rows_at[t], at[t]] for t in steps]
    table_bitmasks = np.unique(np.concatenate(needed)) if needed else np.zeros(0, np.int64)
    table_masks = ((table_bitmasks[:, None] >> np.arange(b.m)) & 1).astype(bool)
    _, margin = vote_table(b, table_masks)

    runs = np.repeat(sizes[:, None], b.cls.shape[0], axis=1)
    for t in reversed(steps):  # smallest stopping point written last
        rows = rows_at[t]
        lookup = np.searchsorted(table_bitmasks, prefix_bitmask[rows, at[t]])
        remaining = total_value[rows] - prefix_value[rows, at[t]]
        settled = margin[lookup] > remaining[:, None]
        runs[rows] = np.where(settled, t, runs[rows])
    return runs


def cascade_cost(
    codes: np.ndarray,
    bits: Sequence[float],
    order: Sequence[int] | None = None,
    subsets: np.ndarray | None = None,
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """Fraction of member runs per subset ``(n_subsets,)``: mean over items of runs / |subset|."""
    m = np.asarray(codes).shape[1]
    masks = resolve_subsets(subsets, m)
    runs = cascade_runs(codes, bits, order, masks, weights=weights, refusal_as=refusal_as)
    return runs.mean(axis=1) / masks.sum(axis=1)


def _check_order(order: Sequence[int], m: int) -> np.ndarray:
    arr = np.asarray(order, dtype=np.int64)
    if arr.shape != (m,) or sorted(arr.tolist()) != list(range(m)):
        raise ValueError(f"order must be a permutation of the {m} member indices, got {order!r}")
    return arr
