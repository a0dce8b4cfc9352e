"""The search space: conditional parameter groups, enumerated exactly as they are sampled."""

from __future__ import annotations

import json

import optuna

from codesign.search.parameters.unit import design, knobs_for, spec_mapping
from codesign.search.space import PARAMETERS, Space, enumerate_space, suggest
from codesign.simulators import load_unit
from codesign.simulators.spec import spec_from_mapping


def _space(units=("stripes",), grid=False, schedules=("sequential", "cascade")) -> Space:
    specs = {u: load_unit(u) for u in units}
    return Space(
        ladders={"gptq": {8: ("g8",), 4: ("g4", "g4s1"), 3: ("g3",)}, "awq": {4: ("a4",)}},
        dense=("dense",),
        dense_alone=True,
        units=specs,
        knobs={u: knobs_for(s) if grid else () for u, s in specs.items()},
        choices={
            "vote_rules": ("majority", "weighted"),
            "schedules": schedules,
            "cascade_orders": ("ascending", "descending"),
        },
    )


def test_every_registered_group_runs_in_order():
    assert {"members", "vote", "schedule", "unit"} <= set(PARAMETERS.names())


def test_enumeration_visits_every_configuration_exactly_once():
    space = _space()
    seen = [json.dumps(p, sort_keys=True) for p, _ in enumerate_space(space)]
    # gptq bit-sets by top precision (the dense model joining or not, x2): 8 → w4 0/1/2 seeds
    # x w3 0/1 x 2 = 12; 4 → 1 or 2 seeds x w3 x 2 = 8; 3 → 2: 22 sets, 3 of them single
    # members. awq: {4}, {4, 16}: 2 sets, 1 single. The dense model alone: 1. A single member
    # votes and schedules nothing; an ensemble takes 2 vote rules x 3 schedules (sequential,
    # cascade ascending, cascade descending).
    expected = 3 + (22 - 3) * 2 * 3 + 1 + (2 - 1) * 2 * 3 + 1
    assert len(seen) == expected
    assert len(set(seen)) == len(seen)


def test_enumerated_parameters_reproduce_their_configuration_through_a_trial():
    space = _space(units=("bitfusion", "h100"), grid=True)
    for params, config in list(enumerate_space(space))[::97]:
        again = suggest(optuna.trial.FixedTrial(params), space)
        assert again == config


def test_conditional_parameters_exist_only_with_their_choice():
    for params, config in enumerate_space(_space(units=("bitfusion", "h100"), grid=True)):
        assert ("cascade_order" in params) == (params.get("schedule") == "cascade")
        assert ("vote_rule" in params) == (len(config.members) > 1)
        knobs = {k for k in params if k.startswith("bitfusion.")}
        assert bool(knobs) == (config.unit == "bitfusion")
        assert not any(k.startswith("awq.") for k in params) or config.method == "awq"
        assert (config.method == "dense") == (config.members == ("dense",))


def test_several_seeds_of_one_precision_can_join_together():
    configs = [c for _, c in enumerate_space(_space())]
    assert any({"g4", "g4s1"} <= set(c.members) for c in configs)
    assert all(c.members for c in configs)


def test_searched_unit_parameters_give_a_loadable_spec():
    spec = load_unit("bitfusion")
    knobs = {k.name: k.values for k in knobs_for(spec)}
    assert knobs["array.rows"] == (8, 16, 32, 64, 128) and knobs["brick_bits"] == (1, 2, 4)
    assert knobs["clock_mhz"] == (250.0, 500.0, 1000.0)
    designed = design(spec, {"array.rows": 64, "brick_bits": 4, "clock_mhz": 250.0})
    again = spec_from_mapping(spec_mapping(designed), "round trip")
    assert again.params["array.rows"] == 64 and again.params["brick_bits"] == 4
    assert again.params["clock_mhz"] == 250.0
    hetero = design(load_unit("hetero-8-4-3"), {"arrays.rows_scale": 2.0})
    assert [a["rows"] for a in hetero.params["arrays"]] == [32, 32, 32]
    assert knobs_for(load_unit("h100")) == ()
