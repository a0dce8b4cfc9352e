"""The exact front: the blocked filter against the plain pairwise one, and the enumeration
against the search objective run on every configuration of a space with unit grids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.search import Settings, build_context, enumerate_space
from codesign.search.exact import exact_front, space_count
from codesign.search.objective import evaluate_config
from codesign.search.pareto import as_minimised, grouped_front, non_dominated, pareto_mask
from codesign.store import Store


def pairwise(points: np.ndarray, groups=None, column=None) -> np.ndarray:
    """The plain definition, every point against every other (independent of the filter)."""
    keep = np.ones(len(points), dtype=bool)
    for i, p in enumerate(points):
        no_worse, better = points <= p, points < p
        if groups is not None:
            other = np.asarray(groups) != groups[i]
            no_worse[other, column], better[other, column] = True, False
        keep[i] = not np.any(np.all(no_worse, axis=1) & np.any(better, axis=1))
    return keep


@pytest.mark.parametrize("seed", range(4))
def test_blocked_filter_keeps_exactly_the_non_dominated_points(seed):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(700, 4)).astype(float)  # many ties and equal points
    groups = rng.choice(np.array(["array", "die"]), size=len(points))
    assert np.array_equal(pareto_mask(points, block=64), pairwise(points))
    assert np.array_equal(grouped_front(points, groups, 3), pairwise(points, groups, 3))
    assert np.array_equal(non_dominated(points, list(groups), 3), pairwise(points, groups, 3))


def test_enumeration_matches_the_objective_on_every_configuration(search_store):
    store = Store(search_store, create=False)
    choices = {
        "methods": ("gptq", "dense"),
        "units": ("hetero-8-4-3", "h100"),
        "vote_rules": ("majority",),
        "schedules": ("sequential", "cascade"),
    }
    ctx = build_context(Settings(store=search_store, choices=choices), store)
    found = exact_front(ctx, sample=5)
    points, groups, keys = [], [], []
    for params, config in enumerate_space(ctx.space):
        outcome = evaluate_config(ctx, config)
        if outcome.values is not None and all(v <= 0 for v in outcome.constraints.values()):
            points.append(outcome.values)
            groups.append(outcome.metrics["area_group"])
            keys.append(json.dumps(params, sort_keys=True, default=str))
    assert found.configurations == space_count(ctx) == sum(1 for _ in enumerate_space(ctx.space))
    assert found.feasible == len(points) > 0
    mask = pairwise(as_minimised(points), groups, 3)
    truth = {k for k, keep in zip(keys, mask, strict=True) if keep}
    assert {json.dumps(p, sort_keys=True, default=str) for p, _ in found.front} == truth
    off = {json.dumps(p, sort_keys=True, default=str) for p, _ in found.sample}
    assert len(off) == 5 and off <= set(keys) - truth
