"""Pareto fronts and hypervolume, for the study's trials and for enumerated spaces.

`pareto_trials` is what `study.best_trials` returns (feasible, non-dominated, complete trials),
computed here from each trial's constraint values so it holds for every sampler and Optuna
version, except that area ranks two trials only when their units' areas cover the same scope
(a whole GPU die is not weighed against an accelerator's array + SRAM + PHY).
`hypervolume` compares fronts on one normalised scale (the benchmark uses it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from codesign.search.objective import DIRECTIONS, OBJECTIVES


def constraint_values(trial: FrozenTrial) -> dict[str, float]:
    found = getattr(trial, "constraints", None)
    if isinstance(found, dict) and found:
        return dict(found)
    return {str(i): v for i, v in enumerate(trial.user_attrs.get("constraints", ()))}


def feasible(trial: FrozenTrial) -> bool:
    return all(v <= 0 for v in constraint_values(trial).values())


def as_minimised(values: Sequence[Sequence[float]], directions=DIRECTIONS) -> np.ndarray:
    """Objective values with maximised objectives negated, so every column is minimised."""
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return np.asarray(values, dtype=float).reshape(-1, len(sign)) * sign


def params_key(params: dict[str, Any]) -> str:
    """A configuration's trial parameters as one comparable string."""
    return json.dumps(params, sort_keys=True, default=str)


def non_dominated(
    points: np.ndarray, groups: Sequence[str] | None = None, column: int | None = None
) -> np.ndarray:
    """Mask of points no other point dominates (all columns minimised; equal points stay).

    With `groups` and `column`: that column is compared only between points of one group (area
    between units of one area scope); across groups the other columns decide."""
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    if groups is None or column is None:
        return pareto_mask(points)
    return grouped_front(points, np.asarray(groups, dtype=object), column)


def _dominated_by(front: np.ndarray, points: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Mask over `points`: dominated by some row of `front` (all columns minimised)."""
    out = np.zeros(len(points), dtype=bool)
    if len(front) == 0 or len(points) == 0:
        return out
    step = max(1, chunk // max(len(front), 1))
    for s in range(0, len(points), step):
        p = points[s : s + step, None, :]
        no_worse = np.all(front[None, :, :] <= p, axis=2)
        better = np.any(front[None, :, :] < p, axis=2)
        out[s : s + step] = np.any(no_worse & better, axis=1)
    return out


def pareto_mask(points: np.ndarray, block: int = 256) -> np.ndarray:
    """Mask of points no other point dominates (all columns minimised; equal points stay).

    In lexicographic order a point can be dominated only by points before it, and dominance is
    transitive, so each block is checked against the front found so far and within itself."""
    points = np.asarray(points, dtype=float)
    order = np.lexsort(points.T[::-1])
    ordered = points[order]
    keep = np.zeros(len(points), dtype=bool)
    front = ordered[:0]
    for s in range(0, len(ordered), block):
        chunk = ordered[s : s + block]
        alive = np.flatnonzero(~_dominated_by(front, chunk))
        inner = _dominated_by(chunk[alive], chunk[alive])
        survivors = alive[~inner]
        keep[order[s + survivors]] = True
        front = np.vstack([front, chunk[survivors]])
    return keep


def grouped_front(points: np.ndarray, groups: np.ndarray, column: int) -> np.ndarray:
    """`pareto_mask` where `column` is compared only between points of one group (area between
    units of one area scope): each group's own front, less what another group's front
    dominates on the other columns (enough: a point another group dominates is dominated by
    that group's front, dominance within a group being transitive)."""
    keep = np.zeros(len(points), dtype=bool)
    fronts = {}
    for g in np.unique(groups):
        at = np.flatnonzero(groups == g)
        fronts[g] = at[pareto_mask(points[at])]
    others = [c for c in range(points.shape[1]) if c != column]
    for g, at in fronts.items():
        mine = points[at][:, others]
        beaten = np.zeros(len(at), dtype=bool)
        for h, there in fronts.items():
            if h != g:
                beaten |= _dominated_by(points[there][:, others], mine)
        keep[at[~beaten]] = True
    return keep


def pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Feasible complete trials that no other feasible complete trial dominates, one per
    configuration (a configuration sampled twice is reported once, as its first trial)."""
    trials = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if feasible(t) and t.user_attrs.get("exact") != "sample"  # an exact study's cloud
    ]
    if not trials:
        return []
    directions = [d.name.lower() for d in study.directions]
    groups = [str((t.user_attrs.get("metrics") or {}).get("area_group")) for t in trials]
    column = OBJECTIVES.index("area_mm2") if len(directions) == len(OBJECTIVES) else None
    mask = non_dominated(as_minimised([t.values for t in trials], directions), groups, column)
    front: dict[str, FrozenTrial] = {}
    for t, keep in zip(trials, mask, strict=True):
        key = params_key(t.params)
        if keep and (key not in front or t.number < front[key].number):
            front[key] = t
    return sorted(front.values(), key=lambda t: t.number)


def hypervolume(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Hypervolume of minimised `points` after scaling [low, high] to [0, 1] per objective,
    against the reference point 1.1 (slightly worse than the worst point of the space)."""
    from optuna._hypervolume import compute_hypervolume

    if len(points) == 0:
        return 0.0
    span = np.where(high > low, high - low, 1.0)
    scaled = (np.asarray(points, dtype=float) - low) / span
    front = scaled[non_dominated(scaled)]
    return float(compute_hypervolume(front, np.full(scaled.shape[1], 1.1), assume_pareto=True))
