"""Cascade with lossless early exit: members run in the given order and stop as soon as the
rest cannot change the majority; the vote is identical to running everyone. The expected cost
weights each member by the measured probability that it has to run.

With m members the first m//2 + 1 always run; with a scalar `agreement` (the measured rate at
which those agree) each later member runs with probability 1 - agreement. That is exact for
three members and an upper bound beyond; pass `run_probability` for the exact figures.
Without either, every member runs (the worst case), and outputs say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codesign.errors import CodesignError
from codesign.simulators.costs import MemberCosts
from codesign.simulators.schedules.base import (
    SCHEDULES,
    Schedule,
    ScheduleParams,
    ScheduleResult,
    one_after_another,
)


def run_probabilities(members: int, params: ScheduleParams) -> Sequence[float]:
    """Probability that each member (in cascade order) runs."""
    if params.run_probability is not None:
        if len(params.run_probability) != members:
            raise CodesignError(
                f"cascade needs one run probability per member ({members}), "
                f"got {len(params.run_probability)}"
            )
        return params.run_probability
    always = members // 2 + 1
    skip = params.agreement or 0.0
    return [1.0] * min(always, members) + [1.0 - skip] * max(members - always, 0)


def run_probability_from_runs(runs: np.ndarray, members: int) -> tuple[float, ...]:
    """Per cascade position, the fraction of items on which that member ran, from how many
    members each item needed (e.g. one row of measurements' ``cascade_runs``). Pass the
    variants to `evaluate` in the same cascade order."""
    needed = np.asarray(runs, dtype=float).ravel()
    if needed.size == 0:
        raise CodesignError("no items to estimate cascade run probabilities from")
    return tuple(float(np.mean(needed >= k)) for k in range(1, members + 1))


class Cascade(Schedule):
    name = "cascade"
    description = "members in order, stopping once the majority is settled (lossless)"
    concurrent = False

    def combine(self, costs: MemberCosts, params: ScheduleParams) -> ScheduleResult:
        return one_after_another(costs, run_probabilities(costs.compute_s.shape[1], params))


SCHEDULES.add("cascade", Cascade())
