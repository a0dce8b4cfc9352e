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
    "energy_per_token_j": "J",
    "average_power_w": "W",
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
    energy_j (dynamic + static power x latency + a GPU's busy power x busy time), area_mm2
    (scope: `DesignBatch.rates().area_scope`), memory_bytes (weights + KV caches),
    energy_per_token_j (per generated token in decode, per prompt token in prefill),
    dram_phy_mm2 (the part of area_mm2 that does not scale with the node),
    average_power_w (energy over latency), tech_nm,
    feasible (the unit can run every member; latency and energy are NaN where not), fits_memory,
    memory_bound (more than half the GEMM time, overheads aside, in memory-bound GEMMs), plus
    the parts: weight_bytes, kv_cache_bytes, dram_bytes, mac_energy_j, sram_energy_j,
    dram_energy_j, vector_energy_j, static_energy_j, busy_energy_j, overhead_s. With
    `members=True` also (n, m) member_latency_s and member_energy_j, each member alone on the
    whole unit. `agreement` / `run_probability` feed the cascade
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

    busy_j = rates.busy_w * np.maximum(result.latency_s - result.overhead_s, 0.0)
    energy = np.minimum(
        result.mac_j
        + result.sram_j
        + result.dram_j
        + result.vector_j
        + static * result.latency_s
        + busy_j,
        rates.max_w * result.latency_s,
    )
    tokens = workload.batch * (workload.tokens if workload.phase == "prefill" else 1)
    out = {
        "latency_s": masked(result.latency_s),
        "energy_j": masked(energy),
        "energy_per_token_j": masked(energy / tokens),
        "average_power_w": masked(energy / result.latency_s),
        "area_mm2": np.asarray(rates.area_mm2, dtype=float),
        "dram_phy_mm2": np.asarray(rates.fixed_area_mm2, dtype=float),
        "tech_nm": np.asarray(rates.tech_nm, dtype=float),
        "memory_bytes": mem.total,
        "feasible": ok,
        "fits_memory": mem.total <= rates.capacity_bytes,
        "memory_bound": ok & (result.memory_bound_s > 0.5 * (result.latency_s - result.overhead_s)),
        "weight_bytes": mem.weights,
        "kv_cache_bytes": mem.kv_cache,
        "dram_bytes": masked(result.dram_bytes),
        "mac_energy_j": masked(result.mac_j),
        "sram_energy_j": masked(result.sram_j),
        "dram_energy_j": masked(result.dram_j),
        "vector_energy_j": masked(result.vector_j),
        "static_energy_j": masked(static * result.latency_s),
        "busy_energy_j": masked(busy_j),
        "overhead_s": masked(result.overhead_s),
    }
    if members:
        latency, dynamic, busy = _alone(costs)
        out["member_latency_s"] = masked(latency)
        out["member_energy_j"] = masked(
            np.minimum(
                dynamic + static[:, None] * latency + rates.busy_w[:, None] * busy,
                rates.max_w[:, None] * latency,
            )
        )
    return out


def _alone(costs: MemberCosts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, m) latency, dynamic energy and busy time of each member alone on the whole unit."""
    step = costs.step_s(costs.compute_s, costs.memory_s())
    dynamic = (
        costs.mac_j
        + costs.weight_sram_j(costs.weight_bytes)
        + costs.act_sram_j
        + costs.dram_j(costs.weight_bytes + costs.other_bytes)
    )
    busy = np.sum(step, axis=2)
    return busy + costs.pass_s, np.sum(dynamic, axis=2) + costs.vector_j, busy
