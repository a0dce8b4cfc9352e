"""The exact Pareto front of a space small enough to enumerate, without a trial per configuration.

Every configuration of the space is priced: the configurations with the unit's searched fields
left out are walked once (`enumerate_space` on the space without knobs), and each is crossed
with its unit's whole grid of searched-field values, priced as one batch of the vectorised
simulators by the search objective's own `price` and `constraint_arrays` (so the enumerated
space and its values are the sampled ones by construction). Cost does not depend on the vote
rule except through a cascade's run probabilities, so one member set's batch is priced once.

The front is found without comparing millions of points pairwise: within one member set's
batch trust is constant, so only the batch's own cost front can be Pareto-optimal, and only for
the configurations of highest trust that share that cost; the remaining candidates are filtered
by `search.pareto.non_dominated` (blocks in lexicographic order, compared against the front so
far) within each area scope, then across scopes with area left out.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from codesign.errors import CodesignError
from codesign.search.context import SearchContext, scope_key
from codesign.search.objective import (
    COSTS,
    HAS_SET_CONSTRAINT,
    OBJECTIVES,
    bitplane_refusal,
    config_dict,
    constraint_arrays,
    evaluate_config,
    jsonable,
    member_order,
    price,
    with_parameter_costs,
)
from codesign.search.pareto import as_minimised, grouped_front, hypervolume, params_key, pareto_mask
from codesign.search.space import Config, enumerate_space, suggest
from codesign.simulators import DesignBatch

# Configurations priced per second by `exact_front` on the default space (3.7M configurations,
# synthetic store): 0.31M/s measured by bench/search_efficiency.py on this project's 2-core
# machine (2026-12-07), which prints each run's rate; half that is assumed, since CPUs differ
# up to 1.7x between days. Used only to say, before starting, how long enumeration will take.
RATE_PER_S = 150_000
EXACT_LIMIT_S = 120.0  # the default search enumerates a space estimated to take at most this
LOG_COLUMNS = [OBJECTIVES.index(name) for name in COSTS]  # scaled in log10 (hypervolume)
AREA = OBJECTIVES.index("area_mm2")


@dataclass
class Grid:
    """One unit's searched-field combinations that make a valid design, as one batch."""

    combos: list[dict[str, Any]]
    batch: DesignBatch | None
    size: int  # every combination, invalid ones included (each is a configuration)
    group: str  # the unit's area scope ("array", "die")


@dataclass
class ExactFront:
    """What enumerating the space found: counts, the front and a sample of the rest."""

    configurations: int
    feasible: int
    cannot_run: Counter = field(default_factory=Counter)  # why, configurations
    excluded: Counter = field(default_factory=Counter)  # constraint, runnable configurations
    front: list[tuple[dict[str, Any], Config]] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, len(OBJECTIVES))))
    sample: list[tuple[dict[str, Any], Config]] = field(default_factory=list)  # feasible, off
    low: np.ndarray | None = None  # bounds of the feasible space, on the hypervolume's scale
    high: np.ndarray | None = None
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        """The study attribute the summary reads."""
        return {
            "configurations": self.configurations,
            "feasible": self.feasible,
            "front": len(self.front),
            "cannot_run": dict(self.cannot_run),
            "excluded": dict(self.excluded),
            "seconds": round(self.seconds, 1),
            "low": None if self.low is None else self.low.tolist(),
            "high": None if self.high is None else self.high.tolist(),
        }


def unit_grid(ctx: SearchContext, unit: str) -> Grid:
    knobs = ctx.space.knobs.get(unit, ())
    combos, specs, size = [], [], 0
    for values in itertools.product(*(k.values for k in knobs)):
        size += 1
        picked = {k.name: v for k, v in zip(knobs, values, strict=True)}
        try:
            specs.append(ctx.unit_design(unit, picked))
        except CodesignError:  # an invalid combination: a configuration that cannot run
            continue
        combos.append(picked)
    batch = DesignBatch.from_specs(specs) if specs else None
    group = scope_key(batch.rates().area_scope) if batch is not None else "unknown"
    return Grid(combos, batch, size, group)


def _base(ctx: SearchContext):
    return enumerate_space(dataclasses.replace(ctx.space, knobs={}))


def space_count(ctx: SearchContext) -> int:
    """Configurations in the space (invalid unit designs included), without enumerating them."""
    knobs = ctx.space.knobs
    sizes = {u: math.prod(len(k.values) for k in knobs.get(u, ())) for u in ctx.space.units}
    return sum(sizes[config.unit] for _, config in _base(ctx))


def estimate_s(configurations: int) -> float:
    return configurations / RATE_PER_S


def scaled(values: np.ndarray) -> np.ndarray:
    """Objective values on the hypervolume's scale: minimised, latency/energy/area in log10."""
    out = as_minimised(values)
    out[:, LOG_COLUMNS] = np.log10(out[:, LOG_COLUMNS])
    return out


@dataclass
class _Batch:
    """One member set's priced grid under one feasibility mask, and who holds its best trust."""

    values: np.ndarray  # latency, energy, area per feasible design
    index: np.ndarray  # those designs' positions in the grid
    front: np.ndarray  # positions (into `index`) of the batch's own cost front
    best: float = -math.inf
    holders: list[int] = field(default_factory=list)  # base configurations at `best` trust


def exact_front(
    ctx: SearchContext,
    progress: Callable[[int], None] | None = None,
    sample: int = 200,
    seed: int = 0,
) -> ExactFront:
    """Price every configuration of the space; return the exact front and a sample of the rest."""
    start = time.perf_counter()
    grids = {u: unit_grid(ctx, u) for u in ctx.space.units}
    rng = np.random.default_rng(seed)
    out, batches, costs = ExactFront(0, 0), {}, {}
    bases: list[tuple[dict[str, Any], Config]] = []
    drawn = np.zeros((0, 3))  # (random key, base, grid entry) of a uniform feasible sample
    trusts: list[float] = []
    for params, config in _base(ctx):
        grid = grids[config.unit]
        out.configurations += grid.size
        out.cannot_run["invalid unit design"] += grid.size - len(grid.combos)
        if progress is not None:
            progress(grid.size)
        if grid.batch is None:
            continue
        bases.append((params, config))
        found = _feasible(ctx, config, grid, costs, out)
        if found is None:
            continue
        key, trust, ok = found
        out.feasible += int(ok.sum())
        trusts.append(trust)
        batch = _batch_for(batches, key, ok, costs[key])
        if trust > batch.best:
            batch.best, batch.holders = trust, []
        if trust == batch.best:
            batch.holders.append(len(bases) - 1)
        drawn = _draw(drawn, rng, len(bases) - 1, np.flatnonzero(ok), 2 * sample)
    out.front, out.values = _global_front(batches, bases, grids)
    on_front = {params_key(p) for p, _ in out.front}
    rest = [_config_at(bases, grids, int(b), int(i)) for _, b, i in drawn[np.argsort(drawn[:, 0])]]
    rest = [pc for pc in rest if params_key(pc[0]) not in on_front]
    out.sample = [rest[i] for i in sorted(rng.permutation(len(rest))[:sample])]
    if trusts:
        out.low, out.high = _bounds(batches, trusts)
    out.seconds = time.perf_counter() - start
    return out


def _draw(drawn: np.ndarray, rng, base: int, index: np.ndarray, k: int) -> np.ndarray:
    """Keep the `k` entries of smallest random key (a uniform sample without replacement)."""
    new = np.column_stack([rng.random(len(index)), np.full(len(index), base), index])
    both = np.vstack([drawn, new])
    return both if len(both) <= k else both[np.argpartition(both[:, 0], k)[:k]]


def _feasible(ctx, config: Config, grid: Grid, costs: dict, out: ExactFront):
    """(cost key, trust, feasible mask over the grid) of one configuration without its unit's
    searched fields, or None when none of its grid can run or meet the constraints (counted)."""
    n = len(grid.combos)
    row = ctx.trust.row(config.members, config.vote_rule)
    if math.isnan(row["trust"]):
        out.cannot_run["trust undefined (too few answered items)"] += n
        return None
    keys, run_probability = member_order(ctx, config)
    if bitplane_refusal(ctx, config.schedule, keys):
        out.cannot_run["bit-plane schedule on independent quantizations"] += n
        return None
    picks = tuple(sorted((k, repr(v)) for k, v in config.extra.items()))
    key = (config.unit, tuple(keys), config.schedule, tuple(run_probability or ()), picks)
    if key not in costs:
        variants = [ctx.variants[k] for k in keys]
        cost = price(ctx, grid.batch, variants, config.schedule, run_probability)
        costs[key] = with_parameter_costs(config, cost)
    cost = costs[key]
    runs = cost.runs
    out.cannot_run["unit cannot run these bit-widths together"] += int((~runs).sum())
    ok = runs.copy()
    for name, value in constraint_arrays(ctx, row, cost).items():
        over = value > 0
        out.excluded[name] += int((runs & over).sum())
        ok &= ~over
    if not ok.any():
        return None
    return key, float(row["trust"]), ok


def _batch_for(batches: dict, key: tuple, ok: np.ndarray, cost) -> _Batch:
    """The batch of `key` under mask `ok`, its own cost front computed once."""
    mkey = (key, ok.tobytes())
    if mkey not in batches:
        index = np.flatnonzero(ok)
        columns = cost.costs()
        values = np.column_stack([columns[name][index] for name in COSTS])
        batches[mkey] = _Batch(values, index, np.flatnonzero(pareto_mask(values)))
    return batches[mkey]


def _config_at(bases: list, grids: dict, b: int, i: int) -> tuple[dict[str, Any], Config]:
    """Trial parameters and configuration of base configuration `b` with grid entry `i`."""
    params, config = bases[b]
    combo = grids[config.unit].combos[i]
    full = dict(params) | {f"{config.unit}.{k}": v for k, v in combo.items()}
    return full, dataclasses.replace(config, unit_params=dict(combo))


def _global_front(batches: dict, bases: list, grids: dict):
    """The configurations on the exact front, and their objective values."""
    rows, where, groups = [], [], []
    for batch in batches.values():
        for b in batch.holders:
            unit = bases[b][1].unit
            for j in batch.front:
                rows.append((batch.best, *batch.values[j]))
                where.append((b, int(batch.index[j])))
                groups.append(grids[unit].group)
    if not rows:
        return [], np.zeros((0, len(OBJECTIVES)))
    values = np.asarray(rows, dtype=float)
    keep = grouped_front(as_minimised(values), np.asarray(groups), AREA)
    front = [_config_at(bases, grids, *where[i]) for i in np.flatnonzero(keep)]
    return front, values[keep]


def _bounds(batches: dict, trusts: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-objective bounds of every feasible configuration on the hypervolume's scale."""
    cost = np.log10(np.vstack([b.values for b in batches.values()]))
    low = np.concatenate([[-max(trusts)], cost.min(axis=0)])
    high = np.concatenate([[-min(trusts)], cost.max(axis=0)])
    return low, high


EXACT_ATTR = "codesign_exact"  # study user attribute: the enumeration's counts


def record(study: optuna.Study, ctx: SearchContext, result: ExactFront) -> int:
    """Store the front (and the sample, marked, for the plots' cloud) as complete trials, each
    evaluated again by the search objective, whose values must be the enumeration's. A record
    cut short is completed, not repeated."""
    stored = {params_key(t.params) for t in study.get_trials(deepcopy=False)}
    expected = [tuple(v) for v in result.values] + [None] * len(result.sample)
    trials = []
    for (params, config), values in zip([*result.front, *result.sample], expected, strict=True):
        if params_key(params) in stored:
            continue
        outcome = evaluate_config(ctx, config)
        if outcome.values is None or (values and not np.allclose(outcome.values, values, 1e-9)):
            raise CodesignError(f"internal: the enumeration and the objective disagree: {params}")
        trials.append(_trial(ctx, params, config, outcome, "front" if values else "sample"))
    study.add_trials(trials)
    study.set_user_attr(EXACT_ATTR, result.record())
    return len(result.front) + len(result.sample)


def _trial(ctx: SearchContext, params: dict, config: Config, outcome, tag: str):
    """A complete trial of `config`, as the search objective would have recorded it."""
    fixed = optuna.trial.FixedTrial(params)
    suggest(fixed, ctx.space)  # the distributions the sampled study would have
    attrs = {"config": config_dict(config, ctx), "metrics": jsonable(outcome.metrics), "exact": tag}
    constraints = {k: float(v) for k, v in outcome.constraints.items()}
    if not HAS_SET_CONSTRAINT:  # Optuna 4: read back from the user attributes
        attrs["constraints"] = list(constraints.values())
    extra = {"constraints": constraints} if HAS_SET_CONSTRAINT else {}
    return optuna.trial.create_trial(
        values=list(outcome.values),
        params=fixed.params,
        distributions=fixed.distributions,
        user_attrs=attrs,
        **extra,
    )


def hypervolume_share(sampled: list, exact_study: optuna.Study) -> dict[str, Any] | None:
    """The sampled study's feasible trials' hypervolume as a share of the exact front's, on
    the exact enumeration's scale (None when `exact_study` holds no exact front)."""
    done = exact_study.user_attrs.get(EXACT_ATTR)
    if not done or done.get("low") is None:
        return None
    low, high = np.asarray(done["low"]), np.asarray(done["high"])
    front = [
        t.values
        for t in exact_study.get_trials(deepcopy=False)
        if t.user_attrs.get("exact") == "front"
    ]
    whole = hypervolume(scaled(np.asarray(front)), low, high)
    found = (
        hypervolume(scaled(np.asarray([t.values for t in sampled])), low, high) if sampled else 0.0
    )
    return {"share": found / whole if whole > 0 else None, "exact_study": exact_study.study_name}
