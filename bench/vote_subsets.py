"""Benchmark: score every subset of 8 precision members on 10,000 items, against a 1 s target.

Times, as medians of repeats, the vectorised vote of all 255 subsets (labels, accuracy and
refusal rate) and the same with per-member weights, against the peer a user would otherwise
write: a plain per-item loop with ``collections.Counter`` (Algorithm 1 item by item) on a
sample of items, extrapolated per item to the full set (labelled as such), with the speed-up
and whether both agree on the sample. The lossless cascade's members run per item (ascending
precision) is timed too, and checked on the sample: voting only the members it ran gives the
full vote. Run: ``python bench/vote_subsets.py [--items N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from codesign.ensembles.early_exit import (
    ascending_precision_order,
    cascade_cost,
    cascade_runs,
)
from codesign.ensembles.vote import (
    INVALID_CODE,
    REFUSED_CODE,
    accuracy,
    quantize_weights,
    refusal_rate,
    subset_masks,
    vote_subsets,
)

TARGET_S = 1.0
BITS = (16, 8, 8, 4, 4, 4, 3, 3)  # two seeds at 8 bits, three at 4, two at 3


def loop_vote(codes: np.ndarray, masks: np.ndarray, weights=None) -> np.ndarray:
    """The peer: Algorithm 1 item by item with a Counter (same integer weights as the
    vectorised vote, so sums and ties are exact on both sides)."""
    w = quantize_weights(weights, codes.shape[1]).tolist()
    out = np.empty((len(masks), len(codes)), dtype=np.int64)
    for s, mask in enumerate(masks):
        members = [j for j in range(codes.shape[1]) if mask[j]]
        for i, row in enumerate(codes.tolist()):
            tally: Counter[int] = Counter()
            for j in members:
                if row[j] not in (REFUSED_CODE, INVALID_CODE):
                    tally[row[j]] += w[j]
            if not tally:
                out[s, i] = REFUSED_CODE
                continue
            top = max(tally.values())
            # a tie goes to the label of the highest-precision member voting for a tied label
            voters = [j for j in members if tally.get(row[j]) == top]
            out[s, i] = row[min(voters, key=lambda j: (-BITS[j], j))]
    return out


def cascade_is_lossless(codes: np.ndarray, runs: np.ndarray, order, masks) -> bool:
    """Voting only the members the cascade ran gives the full vote, on every (subset, item)."""
    full = vote_subsets(codes, BITS, masks)
    for s, mask in enumerate(masks):
        ordered = [j for j in order if mask[j]]
        for i in range(len(codes)):
            ran = np.zeros_like(mask)
            ran[ordered[: runs[s, i]]] = True
            if vote_subsets(codes[i : i + 1], BITS, ran[None])[0, 0] != full[s, i]:
                return False
    return True


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
        ("vote + accuracy + refusal rate", scored_vote, lambda: loop_vote(sample, masks)),
        (
            "weighted vote (+ scores)",
            lambda: scored_vote(weights=weights),
            lambda: loop_vote(sample, masks, weights),
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
            f" | per-item Counter loop {slow_full:6.1f} s (extrapolated from {len(sample)} items)"
            f" | speed-up {slow_full / fast_s:5.0f}x"
        )
    cascade_s, runs = timed(lambda: cascade_runs(codes, BITS, order), args.repeats)
    total += cascade_s
    lossless = cascade_is_lossless(sample, runs[:, : len(sample)], order, masks)
    agree &= lossless
    print(
        f"  {'cascade members run':31s} vectorised {cascade_s * 1e3:7.1f} ms "
        f"(median of {args.repeats}) | no peer; lossless on the sample: {lossless}"
    )
    cost = cascade_cost(codes, BITS, order)
    print(f"  cascade member-run fraction, all members, ascending bits: {cost[-1]:.3f}")
    print(f"  vectorised equals the per-item loop on the sample: {agree}")
    verdict = "PASS" if total < TARGET_S and agree else "FAIL"
    print(
        f"{verdict}: every subset scored, all three, in {total:.3f} s (target < {TARGET_S:.0f} s)"
    )


if __name__ == "__main__":
    main()
