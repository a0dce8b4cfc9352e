"""Benchmark: score every subset of 8 precision members on 10,000 items, against a 1 s target.

Times, as medians of repeats, the vectorised vote of all 255 subsets (labels, accuracy and
refusal rate), the same with per-member weights, and the lossless cascade's members run per
item for ascending precision; then the plain per-item reference on a sample of items,
extrapolated per item to the full set (labelled as such), the speed-up, and whether both
agree on the sample. Run: ``python bench/vote_subsets.py [--items N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from codesign.ensembles.cascade import (
    ascending_precision_order,
    cascade_cost,
    cascade_runs,
)
from codesign.ensembles.vote import (
    INVALID_CODE,
    REFUSED_CODE,
    accuracy,
    refusal_rate,
    subset_masks,
    vote_subsets,
)
from tests.ensembles.voting_reference import (
    reference_cascade_runs_subsets,
    reference_vote_subsets,
)

TARGET_S = 1.0
BITS = (16, 8, 8, 4, 4, 4, 3, 3)  # two seeds at 8 bits, three at 4, two at 3


def synthetic_codes(n_items: int, n_labels: int = 4, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Gold labels and member codes: mostly right, lower bits noisier, some refusals/invalids."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, n_labels, n_items)
    error = np.interp(BITS, (3, 16), (0.45, 0.15))  # per-member error rate by precision
    wrong = rng.random((n_items, len(BITS))) < error
    codes = np.where(wrong, rng.integers(0, n_labels, (n_items, len(BITS))), gold[:, None])
    sentinel = rng.random(codes.shape)
    codes[sentinel < 0.06] = REFUSED_CODE
    codes[sentinel > 0.97] = INVALID_CODE
    return gold, codes


def timed(work: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median wall time of ``repeats`` runs (after one warm-up when repeating) and the result."""
    result = work() if repeats > 1 else None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=100, help="items for the reference")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    gold, codes = synthetic_codes(args.items)
    m, n = codes.shape[1], len(gold)
    order = ascending_precision_order(BITS)
    weights = 1 - np.interp(BITS, (3, 16), (0.45, 0.15))  # e.g. validation accuracy
    sample = codes[: args.sample]
    masks = subset_masks(m)

    def scored_vote(**kw) -> np.ndarray:
        labels = vote_subsets(codes, BITS, **kw)
        accuracy(labels, gold), refusal_rate(labels)
        return labels

    rows = [
        (
            "vote + accuracy + refusal rate",
            scored_vote,
            lambda: reference_vote_subsets(sample, BITS, masks),
        ),
        (
            "weighted vote (+ scores)",
            lambda: scored_vote(weights=weights),
            lambda: reference_vote_subsets(sample, BITS, masks, weights=weights),
        ),
        (
            "cascade members run",
            lambda: cascade_runs(codes, BITS, order),
            lambda: reference_cascade_runs_subsets(sample, BITS, order, masks),
        ),
    ]
    print(f"{m} members (bits {BITS}), {len(masks)} subsets, {n} items")
    total, agree = 0.0, True
    for name, fast, slow in rows:
        fast_s, fast_out = timed(fast, args.repeats)
        slow_s, slow_out = timed(slow, 1)
        slow_full = slow_s / len(sample) * n
        total += fast_s
        agree &= bool(np.array_equal(fast_out[:, : len(sample)], slow_out))
        print(
            f"  {name:31s} vectorised {fast_s * 1e3:7.1f} ms (median of {args.repeats})"
            f" | per-item reference {slow_full:6.1f} s (extrapolated from {len(sample)} items)"
            f" | speed-up {slow_full / fast_s:5.0f}x"
        )
    cost = cascade_cost(codes, BITS, order)
    print(f"  cascade member-run fraction, all members, ascending bits: {cost[-1]:.3f}")
    print(f"  vectorised equals reference on the sample: {agree}")
    verdict = "PASS" if total < TARGET_S and agree else "FAIL"
    print(
        f"{verdict}: every subset scored, all three, in {total:.3f} s (target < {TARGET_S:.0f} s)"
    )


if __name__ == "__main__":
    main()
