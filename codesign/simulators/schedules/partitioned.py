"""Spatially partitioned: members run at once on their own share of the PEs (their own
sub-array on a heterogeneous unit), sharing DRAM bandwidth; compute-bound and memory-bound
members overlap. Each member still fetches its own weights.
"""

from __future__ import annotations

import numpy as np

from codesign.simulators.costs import MemberCosts
from codesign.simulators.schedules.base import (
    SCHEDULES,
    Schedule,
    ScheduleParams,
    ScheduleResult,
    side_by_side,
)


class Partitioned(Schedule):
    name = "partitioned"
    description = "members at once on split PEs / own sub-arrays, sharing bandwidth"
    concurrent = True

    def combine(self, costs: MemberCosts, params: ScheduleParams) -> ScheduleResult:
        sram = np.sum(costs.weight_sram_j(costs.weight_bytes) + costs.act_sram_j, axis=(1, 2))
        return side_by_side(
            costs,
            np.sum(costs.weight_bytes, axis=1),
            sram,
            np.sum(costs.weight_time_bytes, axis=1),
        )


SCHEDULES.add("partitioned", Partitioned())
