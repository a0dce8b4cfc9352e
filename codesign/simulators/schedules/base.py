"""What a schedule for a precision ensemble provides: how members share time, bandwidth and
weight fetches. A schedule turns per-member, per-GEMM costs into one latency and energy per
design, and says whether its members run at once (KV caches held together) and whether it
stores weights as bit planes. A new schedule is one file and one `SCHEDULES` registration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from codesign.errors import CodesignError
from codesign.registry import Registry
from codesign.simulators.costs import MemberCosts

SCHEDULES: Registry[Schedule] = Registry("schedule")


@dataclass(frozen=True)
class ScheduleParams:
    """Inputs a schedule may need from the measurements.

    agreement: for cascade, the measured rate at which the members that must always run agree
    (so the rest are skipped). run_probability: per member, the measured fraction of items on
    which it had to run; overrides `agreement` when given.
    """

    agreement: float | None = None
    run_probability: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.agreement is not None and not 0.0 <= self.agreement <= 1.0:
            raise CodesignError(f"agreement must be in [0, 1], got {self.agreement}")
        for p in self.run_probability or ():
            if not 0.0 <= p <= 1.0:
                raise CodesignError(f"run probabilities must be in [0, 1], got {p}")


@dataclass(frozen=True, eq=False)
class ScheduleResult:
    """Per design (n,): latency and dynamic energy parts, and where the time went."""

    latency_s: np.ndarray
    mac_j: np.ndarray
    sram_j: np.ndarray
    dram_j: np.ndarray
    dram_bytes: np.ndarray
    memory_bound_s: np.ndarray  # part of the latency spent in memory-bound GEMMs
    overhead_s: np.ndarray  # part of the latency in per-layer overhead and the vector unit
    vector_j: np.ndarray  # elementwise energy (vector unit)


class Schedule(ABC):
    """Subclasses set `name`, `description`, `concurrent`, `bitplane` and `combine`."""

    name: ClassVar[str]
    description: ClassVar[str]
    concurrent: ClassVar[bool]  # members hold their KV caches at the same time
    bitplane: ClassVar[bool] = False  # weights stored as bit planes whatever the unit says

    @abstractmethod
    def combine(self, costs: MemberCosts, params: ScheduleParams) -> ScheduleResult:
        """One latency and energy per design from the members' per-GEMM costs."""


def one_after_another(costs: MemberCosts, weights: Sequence[float] | np.ndarray) -> ScheduleResult:
    """Members run alone on the whole unit, each counted with `weights` (1 = always runs)."""
    w = np.asarray(weights, dtype=float)[None, :, None]
    mem_s = costs.memory_s()
    step = costs.step_s(costs.compute_s, mem_s)
    all_bytes = costs.weight_bytes + costs.other_bytes
    sram = costs.weight_sram_j(costs.weight_bytes) + costs.act_sram_j
    passes = float(np.sum(w))
    overhead = costs.pass_s[:, 0] * passes
    return ScheduleResult(
        latency_s=np.sum(w * step, axis=(1, 2)) + overhead,
        mac_j=np.sum(w * costs.mac_j, axis=(1, 2)),
        sram_j=np.sum(w * sram, axis=(1, 2)),
        dram_j=np.sum(w * costs.dram_j(all_bytes), axis=(1, 2)),
        dram_bytes=np.sum(w * all_bytes, axis=(1, 2)),
        memory_bound_s=np.sum(w * np.where(mem_s >= costs.compute_s, step, 0.0), axis=(1, 2)),
        overhead_s=overhead,
        vector_j=costs.vector_j[:, 0] * passes,
    )


def lane_compute_s(costs: MemberCosts) -> np.ndarray:
    """(n, G) compute time when members run at once: the PEs of a sub-array are split among
    the members it serves, and sub-arrays run in parallel."""
    lanes = int(costs.rates.macs_per_s.shape[1])
    if lanes == 1:
        return np.sum(costs.compute_s, axis=1)
    lane = costs.lane()
    per_lane = [np.sum(np.where(lane == s, costs.compute_s, 0.0), axis=1) for s in range(lanes)]
    return np.max(np.stack(per_lane), axis=0)


def side_by_side(
    costs: MemberCosts,
    weight_bytes: np.ndarray,
    sram_j: np.ndarray,
    weight_time_bytes: np.ndarray | None = None,
) -> ScheduleResult:
    """Members advance GEMM by GEMM together, sharing compute and bandwidth; `weight_bytes`
    (n, G) is what the group fetches for weights, `weight_time_bytes` the same scaled by the
    kernels' time factors (default: the slowest member's). Each member still launches its own
    kernels and runs its own elementwise work (pass overhead once per member)."""
    compute = lane_compute_s(costs)
    other = np.sum(np.broadcast_to(costs.other_bytes, costs.compute_s.shape), axis=1)
    nbytes = weight_bytes + other
    if weight_time_bytes is None:
        weight_time_bytes = weight_bytes * costs.slowest_kernel()[:, 0, :]
    mem_s = (weight_time_bytes + other) / costs.rates.dram_bytes_per_s[:, None]
    step = costs.step_s(compute, mem_s)
    members = costs.compute_s.shape[1]
    overhead = costs.pass_s[:, 0] * members
    return ScheduleResult(
        latency_s=np.sum(step, axis=1) + overhead,
        mac_j=np.sum(costs.mac_j, axis=(1, 2)),
        sram_j=sram_j,
        dram_j=np.sum(costs.dram_j(nbytes[:, None, :]), axis=(1, 2)),
        dram_bytes=np.sum(nbytes, axis=1),
        memory_bound_s=np.sum(np.where(mem_s >= compute, step, 0.0), axis=1),
        overhead_s=overhead,
        vector_j=costs.vector_j[:, 0] * members,
    )
