"""Benchmark: hypervolume each sampler reaches after 50, 100 and 200 trials, against the
exhaustive front (targets: the default sampler reaches 95% of the true hypervolume within 200
trials, and 1.2x random's at 50).

The space is the search's own (the same parameter groups and objective as
``python -m codesign.search``). ``--space wide`` (default) is the search's default space: every
method, bundled unit and searched unit field (array, buffer, clock, memory interface), about
3.7 million configurations. Both spaces are enumerated by the search's own exact enumeration
(`codesign.search.exact`, what ``python -m codesign.search`` runs by default: each unit's
whole grid priced as one DesignBatch; tests/search/test_exact.py checks it against the search
objective run on every configuration of a smaller space). ``--space narrow`` is the space
earlier versions measured: GPTQ and AWQ members × vote rule × schedule and cascade order × four
units at their spec's parameters. Trust comes from a store: a synthetic one (the tests'
builder: seeded labels on real suite items, 20 items per setting like the search's default
``--limit``, built in a temporary folder) unless ``--store`` names one holding real
predictions; the output says which.

Hypervolume is computed on one scale for every run: trust as is, latency, energy and area in
log10 (they span GPUs and edge arrays), each scaled to [0, 1] over the feasible configurations
of the enumerated space, reference point 1.1. Each sampler runs in an in-memory study (this
measures sampling efficiency, not storage); medians over ``--seeds`` seeds (GP, 3 to 7 s a
trial on a busy 2-core CPU, over ``--gp-seeds``, default 1).
Run: ``python bench/search_efficiency.py [--space wide|narrow] [--seeds 5] [--store URL]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

from codesign.search import DIRECTIONS, Objective, Settings, build_context
from codesign.search.exact import exact_front, scaled
from codesign.search.pareto import feasible, hypervolume
from codesign.search.study import DEFAULT_SAMPLER, make_sampler
from codesign.store import Store
from codesign.testing.synthetic_store import build_synthetic_store

CHECKPOINTS = (50, 100, 200)
TARGET = 0.95
SPACES = {
    # the search's default space: every method, unit and searched unit field
    "wide": dict(unit_params="grid"),
    # the narrow space earlier versions measured: four units at their spec values
    "narrow": dict(
        methods=("gptq", "awq"),
        units=("stripes", "bitfusion", "hetero-8-4-3", "h100"),
        unit_params="fixed",
    ),
}
TARGET_VS_RANDOM = 1.2  # the default sampler's median hypervolume over random's at 50 trials


def _store(url: str | None, items: int, folder: str) -> tuple[Store, str]:
    if url:
        return Store(url, create=False), f"real predictions in {url}"
    store = build_synthetic_store(f"sqlite:///{Path(folder) / 'store.db'}", limit=items)
    return store, f"synthetic store (seeded labels on real suite items, {items} per setting)"


def run(ctx, sampler: str, seed: int, n_trials: int) -> list[np.ndarray]:
    """Feasible minimised points after each checkpoint of one seeded run."""
    study = optuna.create_study(directions=list(DIRECTIONS), sampler=make_sampler(sampler, seed))
    study.optimize(Objective(ctx), n_trials=n_trials)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    out = []
    for n in CHECKPOINTS:
        done = [t.values for t in trials[:n] if t.values is not None and feasible(t)]
        out.append(
            scaled(np.asarray(done, dtype=float)) if done else np.zeros((0, len(DIRECTIONS)))
        )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", help="store with real predictions (default: synthetic)")
    p.add_argument(
        "--items",
        type=int,
        default=20,
        help="synthetic items per suite setting, as the search measures by default (20)",
    )
    p.add_argument(
        "--space",
        choices=tuple(SPACES),
        default="wide",
        help="wide: the search's default space (front by batched enumeration); narrow: four "
        "units at spec values (default: wide)",
    )
    p.add_argument("--samplers", default="tpe,nsga2,gp,random")
    p.add_argument("--seeds", type=int, default=5, help="seeds per sampler (default: 5)")
    p.add_argument("--gp-seeds", type=int, default=1, help="seeds for gp (default: 1)")
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as folder:
        return _bench(args, *_store(args.store, args.items, folder))


def _bench(args: argparse.Namespace, store: Store, origin: str) -> int:
    choices = SPACES[args.space]
    ctx = build_context(Settings(store=store.url, choices=choices), store)
    t0 = time.perf_counter()
    found = exact_front(ctx, sample=0)
    low, high = found.low, found.high
    truth = scaled(found.values)
    true_hv = hypervolume(truth, low, high)
    total, n_feasible = found.configurations, found.feasible
    how = (
        f"by the search's exact enumeration (codesign.search.exact: unit grids in batches, "
        f"{total / found.seconds:,.0f} configurations/s)"
    )
    print(f"trust: {origin}; model {ctx.model}; cost modelled for {ctx.shape_label}")
    units = ", ".join(ctx.space.units)
    print(
        f"space ({args.space}): {total:,} configurations ({n_feasible:,} feasible, "
        f"{len(truth)} Pareto-optimal), enumerated {how} in {time.perf_counter() - t0:.0f} s; "
        f"units {units}" + (" at spec values" if args.space == "narrow" else " with their grids")
    )
    print(f"true hypervolume {true_hv:.4f} (trust, log10 latency/energy/area scaled to [0,1])")
    print(f"{'sampler':<8} {'seeds':>5} " + " ".join(f"{f'HV@{n}':>17}" for n in CHECKPOINTS))
    results = {}
    for name in args.samplers.split(","):
        seeds = args.gp_seeds if name == "gp" else args.seeds
        t1 = time.perf_counter()
        ratios = [
            [hypervolume(pts, low, high) / true_hv for pts in run(ctx, name, s, max(CHECKPOINTS))]
            for s in range(seeds)
        ]
        per_n = list(zip(*ratios, strict=True))
        results[name] = [statistics.median(r) for r in per_n]
        cells = [f"{statistics.median(r):.3f} ({min(r):.2f}-{max(r):.2f})" for r in per_n]
        secs = (time.perf_counter() - t1) / seeds
        print(
            f"{name:<8} {seeds:>5} " + " ".join(f"{c:>17}" for c in cells) + f"  {secs:.0f} s/run"
        )
    print(f"{'exhaust.':<8} {'':>5} " + " ".join(f"{'1.000':>17}" for _ in CHECKPOINTS))
    for name, med in results.items():
        if name != "random" and "random" in results:
            vs = " ".join(f"{m / r:.2f}x" for m, r in zip(med, results["random"], strict=True))
            print(f"{name} vs random (median HV ratio at {CHECKPOINTS}): {vs}")
    if DEFAULT_SAMPLER not in results:
        return 0
    reached = results[DEFAULT_SAMPLER][-1]
    passed = reached >= TARGET
    print(
        f"{'PASS' if passed else 'FAIL'}: default sampler {DEFAULT_SAMPLER} reaches "
        f"{reached:.1%} of the true hypervolume within {CHECKPOINTS[-1]} trials "
        f"(target {TARGET:.0%})"
    )
    if "random" in results:
        ratio = results[DEFAULT_SAMPLER][0] / results["random"][0]
        passed &= ratio >= TARGET_VS_RANDOM
        print(
            f"{'PASS' if ratio >= TARGET_VS_RANDOM else 'FAIL'}: {DEFAULT_SAMPLER} reaches "
            f"{ratio:.2f}x random's hypervolume at {CHECKPOINTS[0]} trials "
            f"(target {TARGET_VS_RANDOM:.1f}x)"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
