"""Search: Optuna multi-objective co-design search for Pareto-optimal deployments.

Trust (measured: stored predictions voted once for every reachable ensemble) against latency,
energy and area (modelled by the simulators), under memory, MMLU and area constraints::

    from codesign.search import Settings, build_context, Objective, DIRECTIONS
    ctx = build_context(Settings(store="sqlite:///codesign.db", budget_gb=24), Store(url))
    study = optuna.create_study(directions=DIRECTIONS, sampler=make_sampler("tpe", 0))
    study.optimize(Objective(ctx), n_trials=200)
    pareto_trials(study)

`python -m codesign.search --budget-gb 24` does all of it with outputs; see cli.py.
"""

from codesign.search.context import SearchContext, Settings, build_context
from codesign.search.objective import DIRECTIONS, OBJECTIVES, Objective, evaluate_config
from codesign.search.pareto import hypervolume, non_dominated, pareto_trials
from codesign.search.space import (
    PARAMETERS,
    Config,
    Space,
    enumerate_space,
    parameter_group,
    suggest,
)
from codesign.search.study import SAMPLERS, make_sampler, open_storage, open_study

__all__ = [
    "DIRECTIONS",
    "OBJECTIVES",
    "PARAMETERS",
    "SAMPLERS",
    "Config",
    "Objective",
    "SearchContext",
    "Settings",
    "Space",
    "build_context",
    "enumerate_space",
    "evaluate_config",
    "hypervolume",
    "make_sampler",
    "non_dominated",
    "open_storage",
    "open_study",
    "pareto_trials",
    "parameter_group",
    "suggest",
]
