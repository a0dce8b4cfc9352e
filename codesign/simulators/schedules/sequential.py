"""Sequential: members run one after another, each on the whole unit."""

from __future__ import annotations

from codesign.simulators.costs import MemberCosts
from codesign.simulators.schedules.base import (
    SCHEDULES,
    Schedule,
    ScheduleParams,
    ScheduleResult,
    one_after_another,
)


class Sequential(Schedule):
    name = "sequential"
    description = "members one after another on the whole unit; each fetches its own weights"
    concurrent = False

    def combine(self, costs: MemberCosts, params: ScheduleParams) -> ScheduleResult:
        return one_after_another(costs, [1.0] * costs.compute_s.shape[1])


SCHEDULES.add("sequential", Sequential())
