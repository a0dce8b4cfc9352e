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

from codesign.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "codesign.search.context": ("SearchContext", "Settings", "build_context"),
        "codesign.search.objective": ("DIRECTIONS", "OBJECTIVES", "Objective", "evaluate_config"),
        "codesign.search.pareto": ("hypervolume", "non_dominated", "pareto_trials"),
        "codesign.search.space": (
            "PARAMETERS",
            "Config",
            "Space",
            "enumerate_space",
            "parameter_group",
            "suggest",
        ),
        "codesign.search.study": ("SAMPLERS", "make_sampler", "open_storage", "open_study"),
    },
)
