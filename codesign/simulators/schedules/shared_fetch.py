"""Shared fetch on bit-plane storage: weights are stored once as the bit planes of the widest
member; each tile of planes is fetched from DRAM once and every member computes on it (an
n-bit member reads the top n planes from SRAM). Weights are stored as bit planes under this
schedule whatever the unit's own storage.
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


class SharedFetch(Schedule):
    name = "shared-fetch"
    description = "bit-plane weights fetched once per step; every member computes on them"
    concurrent = True
    bitplane = True

    def combine(self, costs: MemberCosts, params: ScheduleParams) -> ScheduleResult:
        shared = costs.shared_weight_bytes()  # (n, 1, G)
        rates = costs.rates
        written = shared * 8.0 * rates.weight_sram_write_pj_bit[:, None, None] * 1e-12
        # each member reads its own planes
        read = costs.weight_bytes * 8.0 * rates.weight_sram_read_pj_bit[:, None, None] * 1e-12
        sram = (
            np.sum(written, axis=(1, 2))
            + np.sum(read, axis=(1, 2))
            + np.sum(costs.act_sram_j, axis=(1, 2))
        )
        return side_by_side(costs, shared[:, 0, :], sram)


SCHEDULES.add("shared-fetch", SharedFetch())
