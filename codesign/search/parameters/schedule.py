"""Schedule of an ensemble on the unit, and the cascade's member order when it is a cascade.

One member runs alone (`sequential`); two or more choose a schedule from the simulators'
registry. The cascade (lossless early exit) runs its members cheapest-first (`ascending`) or
most-precise-first (`descending`); its cost comes from the measured run probabilities.
"""

from __future__ import annotations

from codesign.search.space import Config, Option, Space, TrialLike, parameter_group
from codesign.search.trust import CASCADE_ORDERS
from codesign.simulators import SCHEDULES

SCHEDULE_OPTIONS = (
    Option(
        "schedules",
        help="ensemble schedules (default: all registered)",
        known=lambda: tuple(SCHEDULES.names()),
    ),
    Option(
        "cascade_orders",
        help=f"cascade member orders (default: {','.join(CASCADE_ORDERS)})",
        known=lambda: CASCADE_ORDERS,
    ),
)


@parameter_group(
    "schedule",
    order=30,
    help="ensemble schedule and cascade order",
    options=SCHEDULE_OPTIONS,
)
def schedule(trial: TrialLike, space: Space, config: Config) -> None:
    if len(config.members) < 2:
        return
    config.schedule = trial.suggest_categorical("schedule", space.choices["schedules"])
    if config.schedule == "cascade":
        config.cascade_order = trial.suggest_categorical(
            "cascade_order", space.choices["cascade_orders"]
        )
