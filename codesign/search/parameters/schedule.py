"""Schedule of an ensemble on the unit, and the cascade's member order when it is a cascade.

One member runs alone (`sequential`); two or more choose a schedule from the simulators'
registry. The cascade (lossless early exit) runs its members cheapest-first (`ascending`) or
most-precise-first (`descending`); its cost comes from the measured run probabilities.
"""

from __future__ import annotations

from codesign.search.space import Config, Space, TrialLike, parameter_group


@parameter_group("schedule", order=30, help="ensemble schedule and cascade order")
def schedule(trial: TrialLike, space: Space, config: Config) -> None:
    if len(config.members) < 2:
        return
    config.schedule = trial.suggest_categorical("schedule", space.schedules)
    if config.schedule == "cascade":
        config.cascade_order = trial.suggest_categorical("cascade_order", space.cascade_orders)
