"""Benchmark: hypervolume each sampler reaches after 50, 100 and 200 trials, against the
exhaustive front (targets: the default sampler reaches 95% of the true hypervolume within 200
trials, and 1.2x random's at 50).

The space is the search's own (the same parameter groups and objective as
``python -m codesign.search``). ``--space wide`` (default) is the search's default space: every
method, bundled unit and searched unit field (array, buffer, clock, memory interface), about
3.7 million configurations. It is enumerated exactly by batching: every configuration with the
unit parameters fixed, crossed with each unit's whole grid evaluated as one DesignBatch; a
random sample of the configurations is re-evaluated through the search objective and must agree.
``--space narrow`` is the space earlier versions measured: GPTQ and AWQ members × vote rule ×
schedule and cascade order × four units at their spec's parameters, walked one configuration
at a time. Trust comes from a store: a synthetic one (the tests' builder: seeded labels on real
suite items, 20 items per setting like the search's default ``--limit``, built in a temporary
folder) unless ``--store`` names one holding real predictions; the output says which.

Hypervolume is computed on one scale for every run: trust as is, latency, energy and area in
log10 (they span GPUs and edge arrays), each scaled to [0, 1] over the feasible configurations
of the enumerated space, reference point 1.1. Each sampler runs in an in-memory study (this
measures sampling efficiency, not storage); medians over ``--seeds`` seeds (GP, 3 to 7 s a
trial on a busy 2-core CPU, over ``--gp-seeds``, default 1).
Run: ``python bench/search_efficiency.py [--space wide|narrow] [--seeds 5] [--store URL]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.study._multi_objective import _is_pareto_front

from codesign.search import DIRECTIONS, Objective, Settings, build_context, enumerate_space
from codesign.search.objective import evaluate_config
from codesign.search.pareto import as_minimised, feasible, hypervolume
from codesign.search.study import DEFAULT_SAMPLER, make_sampler
from codesign.simulators import DesignBatch, evaluate
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
LOG_COLUMNS = [1, 2, 3]  # latency, energy, area


def _store(url: str | None, items: int, folder: str) -> tuple[Store, str]:
    if url:
        return Store(url, create=False), f"real predictions in {url}"
    store = build_synthetic_store(f"sqlite:///{Path(folder) / 'store.db'}", limit=items)
    return store, f"synthetic store (seeded labels on real suite items, {items} per setting)"


def _scale(points: np.ndarray) -> np.ndarray:
    out = np.array(points, dtype=float)
    out[:, LOG_COLUMNS] = np.log10(out[:, LOG_COLUMNS])
    return out


def exhaustive(ctx) -> tuple[np.ndarray, int, int]:
    """Minimised, log-scaled objective values of every feasible configuration of the space,
    one configuration at a time through the search's own objective (small spaces)."""
    points, total = [], 0
    for _, config in enumerate_space(ctx.space):
        total += 1
        out = evaluate_config(ctx, config)
        if out.values is not None and all(v <= 0 for v in out.constraints.values()):
            points.append(out.values)
    return _scale(as_minimised(points)), total, len(points)


def unit_grid(ctx, unit: str) -> tuple[list[dict], DesignBatch | None]:
    """Every searched-field combination of one unit that makes a valid design, as one batch."""
    knobs = ctx.space.knobs.get(unit, ())
    combos, specs = [], []
    for values in itertools.product(*(k.values for k in knobs)):
        picked = {k.name: v for k, v in zip(knobs, values, strict=True)}
        try:
            specs.append(ctx.unit_design(unit, picked))
        except Exception:  # noqa: BLE001 - an invalid combination is not a configuration
            continue
        combos.append(picked)
    return combos, (DesignBatch.from_specs(specs) if specs else None)


def exhaustive_vectorised(ctx, base_ctx) -> tuple[np.ndarray, int, int, list]:
    """The same as `exhaustive` for a space too large to walk one configuration at a time:
    every configuration of `base_ctx`'s space (unit parameters fixed) crossed with every
    combination of `ctx`'s unit grids, each group of designs evaluated as one batch. Returns
    the points, the number of configurations, of feasible ones, and (config, values) samples
    for the cross-check against the search's objective."""
    grids = {u: unit_grid(ctx, u) for u in ctx.space.units}
    points, total, samples = [], 0, []
    cache: dict = {}
    rng = random.Random(0)
    s = ctx.settings
    for _, config in enumerate_space(base_ctx.space):
        combos, batch = grids[config.unit]
        total += len(combos)
        row = ctx.trust.row(config.members, config.vote_rule)
        if batch is None or math.isnan(row["trust"]):
            continue
        keys, run_probability = list(config.members), None
        if config.schedule == "cascade":
            keys = ctx.trust.cascade_order(keys, config.cascade_order or "ascending")
            run_probability = ctx.trust.run_probabilities(keys, config.vote_rule)
        key = (config.unit, tuple(keys), config.schedule, tuple(run_probability or ()))
        if key not in cache:
            variants = [ctx.variants[k] for k in keys]
            pre, dec = (
                evaluate(batch, w, variants, config.schedule, run_probability=run_probability)
                for w in (ctx.prefill, ctx.decode)
            )
            rates = batch.rates()
            limit = np.minimum(s.budget_gb, rates.capacity_bytes / 1e9)
            cache[key] = (
                pre["feasible"],
                (pre["latency_s"] + s.new_tokens * dec["latency_s"]) * 1e3,
                (pre["energy_j"] + s.new_tokens * dec["energy_j"]) * 1e3,
                pre["area_mm2"],
                dec["memory_bytes"] / 1e9 <= limit,
            )
        runs, latency, energy, area, fits = cache[key]
        ok = runs & fits
        if ctx.mmlu_floor is not None:
            mmlu = row.get(ctx.mmlu_suite, math.nan)
            ok = ok & (not math.isnan(mmlu) and mmlu >= ctx.mmlu_floor)
        if s.max_area_mm2 is not None:
            ok = ok & (area <= s.max_area_mm2)
        for i in np.flatnonzero(ok):
            values = (row["trust"], float(latency[i]), float(energy[i]), float(area[i]))
            points.append(values)
            if rng.random() < 0.002:
                full = dataclasses.replace(config, unit_params=dict(combos[i]))
                samples.append((full, values))
    return _scale(as_minimised(points)), total, len(points), samples


def cross_check(ctx, samples: list) -> int:
    """Configurations whose vectorised values differ from the search objective's (rel 1e-9)."""
    bad = 0
    for config, values in samples:
        out = evaluate_config(ctx, config)
        if out.values is None or not np.allclose(out.values, values, rtol=1e-9):
            bad += 1
    return bad


def run(ctx, sampler: str, seed: int, n_trials: int) -> list[np.ndarray]:
    """Feasible minimised points after each checkpoint of one seeded run."""
    study = optuna.create_study(directions=list(DIRECTIONS), sampler=make_sampler(sampler, seed))
    study.optimize(Objective(ctx), n_trials=n_trials)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    out = []
    for n in CHECKPOINTS:
        done = [t.values for t in trials[:n] if t.values is not None and feasible(t)]
        out.append(_scale(as_minimised(done)) if done else np.zeros((0, len(DIRECTIONS))))
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
    if args.space == "narrow":
        points, total, n_feasible = exhaustive(ctx)
        how = "one at a time through the search objective"
    else:
        fixed = dict(choices, unit_params="fixed")
        base = build_context(Settings(store=store.url, choices=fixed), store)
        points, total, n_feasible, samples = exhaustive_vectorised(ctx, base)
        bad = cross_check(ctx, samples)
        how = (
            f"in batches per unit grid; {len(samples)} sampled configurations re-evaluated "
            f"through the search objective, {bad} differ"
        )
        if bad:
            print(f"FAIL: batched enumeration disagrees with the objective on {bad} configurations")
            return 1
    low, high = points.min(axis=0), points.max(axis=0)
    unique = np.unique(points, axis=0)
    truth = unique[_is_pareto_front(unique, assume_unique_lexsorted=True)]
    true_hv = hypervolume(truth, low, high)
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
