"""The search's entry point: latency, energy, area and memory of an ensemble on many designs.

`evaluate` takes a batch of designs (one family, struct-of-arrays), a workload, the ensemble's
variants and a schedule, and returns one numpy array per metric, one entry per design. All
numbers are modelled (analytical), never measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codesign.errors import CodesignError
from codesign.simulators.costs import MemberCosts, member_costs
from codesign.simulators.design import DesignBatch
from codesign.simulators.memory import footprint
from codesign.simulators.schedules import SCHEDULES, Schedule, ScheduleParams
from codesign.simulators.variants import Variant
from codesign.simulators.workload import Workload

METRICS = {
    "latency_s": "s",
    "energy_j": "J",
    "area_mm2": "mm^2",
    "memory_bytes": "B",
}


def evaluate(
    designs: DesignBatch,
    workload: Workload,
    variants: Sequence[Variant],
    schedule: str = "sequential",
    *,
    agreement: float | None = None,
    run_probability: Sequence[float] | None = None,
    members: bool = False,
) -> dict[str, np.ndarray]:
    """Model `variants` run under `schedule` on every design of `designs`.

    Returns arrays of shape (n,): latency_s (one prefill, or one decode step of the batch),
    energy_j (dynamic + board power x latency), area_mm2, memory_bytes (weights + KV caches),
    feasible (the unit can run every member; latency and energy are NaN where not), fits_memory,
    memory_bound (more than half the latency in memory-bound GEMMs), plus the parts:
    weight_bytes, kv_cache_bytes, dram_bytes, mac_energy_j, sram_energy_j, dram_energy_j,
    static_energy_j. With `members=True` also (n, m) member_latency_s and member_energy_j,
    each member alone on the whole unit. `agreement` / `run_probability` feed the cascade
    schedule (measured by the measurements stage; without them cascade assumes the worst).
    """
    variants = tuple(variants)
    if not variants:
        raise CodesignError("an ensemble needs at least one variant")
    sched = SCHEDULES.get(schedule)
    params = ScheduleParams(
        agreement, tuple(run_probability) if run_probability is not None else None
    )
    rates = designs.rates()
    costs = member_costs(rates, workload, variants)
    with np.errstate(invalid="ignore"):
        return _metrics(costs, sched, params, workload, variants, members)


def _metrics(
    costs: MemberCosts,
    sched: Schedule,
    params: ScheduleParams,
    workload: Workload,
    variants: tuple[Variant, ...],
    members: bool,
) -> dict[str, np.ndarray]:
    rates = costs.rates
    result = sched.combine(costs, params)
    mem = footprint(
        rates, workload, variants, concurrent=sched.concurrent, force_bitplane=sched.bitplane
    )
    static = rates.static_w
    ok = costs.feasible

    def masked(x: np.ndarray) -> np.ndarray:
        return np.where(ok.reshape((-1,) + (1,) * (x.ndim - 1)), x, np.nan)

    out = {
        "latency_s": masked(result.latency_s),
        "energy_j": masked(
            result.mac_j + result.sram_j + result.dram_j + static * result.latency_s
        ),
        "area_mm2": np.asarray(rates.area_mm2, dtype=float),
        "memory_bytes": mem.total,
        "feasible": ok,
        "fits_memory": mem.total <= rates.capacity_bytes,
        "memory_bound": ok & (result.memory_bound_s > 0.5 * result.latency_s),
        "weight_bytes": mem.weights,
        "kv_cache_bytes": mem.kv_cache,
        "dram_bytes": masked(result.dram_bytes),
        "mac_energy_j": masked(result.mac_j),
        "sram_energy_j": masked(result.sram_j),
        "dram_energy_j": masked(result.dram_j),
        "static_energy_j": masked(static * result.latency_s),
    }
    if members:
        latency, energy = _alone(costs)
        out["member_latency_s"] = masked(latency)
        out["member_energy_j"] = masked(energy + static[:, None] * latency)
    return out


def _alone(costs: MemberCosts) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) latency and dynamic energy of each member run alone on the whole unit."""
    step = np.maximum(costs.compute_s, costs.memory_s())
    dynamic = (
        costs.mac_j
        + costs.weight_sram_j(costs.weight_bytes)
        + costs.act_sram_j
        + costs.dram_j(costs.weight_bytes + costs.other_bytes)
    )
    return np.sum(step, axis=2), np.sum(dynamic, axis=2)
