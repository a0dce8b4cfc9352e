"""The Optuna objective: a configuration from the trial, its trust looked up, its cost modelled.

Objectives: trust (maximize; mean of the trust perspectives measured, from stored predictions by
voting), latency per request, energy per request and unit area (minimize; modelled by the
simulators for the cost shape; area at `--area-node` by simulators.normalise's rule, and ranked
only between units whose area covers the same scope, see search.pareto). Constraints, set with
`trial.set_constraint` (feasible when ≤ 0): memory within the budget (and the unit's own
memory), MMLU at or above the floor, at most `--max-refusal` of the trust items unanswered (the
mean over the four perspectives, as trust is), and area within `--max-area-mm2` when given. A
configuration the unit cannot run at all (e.g. 16-bit weights on an 8-bit array) is pruned,
with the reason in the trial's user attributes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from codesign.errors import CodesignError
from codesign.scoring.trust import perspectives
from codesign.scoring.variants import MAX_UNANSWERED, UNANSWERED
from codesign.search.context import SearchContext, scope_key
from codesign.search.space import Config, groups, suggest
from codesign.simulators import SCHEDULES, DesignBatch, evaluate
from codesign.simulators.normalise import area_at_node
from codesign.simulators.variants import one_nested_set

# The objectives by name and direction; trials store their values in OBJECTIVES' order (Optuna
# keeps values as a list), every other place reads them by name.
DIRECTION = {
    "trust": "maximize",
    "latency_ms": "minimize",
    "energy_mj": "minimize",
    "area_mm2": "minimize",
}
OBJECTIVES = tuple(DIRECTION)
DIRECTIONS = tuple(DIRECTION.values())
COSTS = tuple(name for name in OBJECTIVES if name != "trust")  # what the simulators price


def objective_values(named: dict[str, float]) -> tuple[float, ...]:
    """A trial's values in OBJECTIVES' order, from a mapping of every objective by name."""
    return tuple(float(named[name]) for name in OBJECTIVES)


HAS_SET_CONSTRAINT = hasattr(optuna.Trial, "set_constraint")  # Optuna ≥ 5.0


@dataclass
class Outcome:
    """A configuration's objective values, constraint values and everything reported."""

    values: tuple[float, ...] | None
    constraints: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    cannot_run: str | None = None


def config_dict(config: Config, ctx: SearchContext) -> dict[str, Any]:
    """A configuration as reported: members by label and key, rule, schedule, unit."""
    members = [ctx.trust.member(k) for k in config.members]
    out = {
        "method": config.method,
        "members": "+".join(m.label for m in members),
        "variant_keys": list(config.members),
        "bits": [m.bits for m in members],
        "ensemble_size": len(members),
        "vote_rule": config.vote_rule,
        "schedule": config.schedule,
        "cascade_order": config.cascade_order,
        "unit": config.unit,
        "unit_family": ctx.space.units[config.unit].family,
        "unit_params": dict(config.unit_params),
    }
    if config.extra:  # picks of parameter groups beyond the built-in ones
        out["parameters"] = dict(config.extra)
    return out


def evaluate_config(ctx: SearchContext, config: Config) -> Outcome:
    """Trust from the voted table, cost from the simulators; no model run, no voting."""
    row = ctx.trust.row(config.members, config.vote_rule)
    metrics = trust_metrics(row)
    if math.isnan(row["trust"]):
        missing = [p for p in perspectives(row) if math.isnan(row[p])]
        reason = f"trust undefined: no {', '.join(missing)} score (too few answered items)"
        return Outcome(None, metrics=metrics, cannot_run=reason)
    try:
        spec = ctx.unit_design(config.unit, config.unit_params)
    except CodesignError as exc:
        return Outcome(None, metrics=metrics, cannot_run=str(exc))
    keys, run_probability = member_order(ctx, config)
    if run_probability is not None:
        metrics["cascade_members"] = [ctx.trust.member(k).label for k in keys]
        metrics["run_probability"] = run_probability
    variants = [ctx.variants[k] for k in keys]
    nested = one_nested_set(variants)
    if reason := bitplane_refusal(ctx, config.schedule, keys):
        return Outcome(None, metrics=metrics, cannot_run=reason)
    metrics["weight_storage"] = _storage(spec, config.schedule, nested, len(variants))
    cost = price(ctx, DesignBatch.from_specs([spec]), variants, config.schedule, run_probability)
    cost = with_parameter_costs(config, cost)
    if not bool(cost.runs[0]):
        widths = sorted({v.bits for v in variants}, reverse=True)
        reason = f"{spec.name} cannot run {'/'.join(map(str, widths))}-bit weights together"
        return Outcome(None, metrics=metrics, cannot_run=reason)
    metrics |= cost.metrics(0, ctx.settings.area_node_nm)
    constraints = {k: float(v[0]) for k, v in constraint_arrays(ctx, row, cost).items()}
    if ctx.mmlu_floor is not None:
        metrics["mmlu"] = row.get(ctx.mmlu_suite, math.nan)
    values = objective_values({"trust": row["trust"]} | {k: v[0] for k, v in cost.costs().items()})
    return Outcome(values, constraints, metrics)


def member_order(ctx: SearchContext, config: Config) -> tuple[list[str], list[float] | None]:
    """The members in the order they run, and each one's chance to run (cascade only)."""
    if config.schedule != "cascade":
        return list(config.members), None
    keys = ctx.trust.cascade_order(list(config.members), config.cascade_order or "ascending")
    return keys, ctx.trust.run_probabilities(keys, config.vote_rule)


def bitplane_refusal(ctx: SearchContext, schedule: str, keys: list[str]) -> str | None:
    """Why a bit-plane schedule cannot run these members (None when it can)."""
    variants = [ctx.variants[k] for k in keys]
    if not SCHEDULES.get(schedule).bitplane or len(variants) < 2 or one_nested_set(variants):
        return None
    labels = "+".join(ctx.trust.member(k).label for k in keys)
    return (
        f"{schedule} needs the members to be one nested set (the top bit-planes of "
        f"one quantization); {labels} are independent quantizations"
    )


def trust_metrics(row: dict) -> dict[str, Any]:
    """A voted row's reported trust figures, with the answered share each score rests on."""
    names = perspectives(row)  # the trust perspectives measured
    metrics: dict[str, Any] = {p: row[p] for p in names}
    metrics |= {
        "trust": row["trust"],
        "refusal_rate": row["refusal_rate"],
        # the share of those refusals where every member's output was unparseable
        "no_valid_rate": row.get("no_valid_rate", math.nan),
        "mmlu_ll": row.get("mmlu_ll", math.nan),
        "mmlu_gen": row.get("mmlu_gen", math.nan),
        MAX_UNANSWERED: row.get(MAX_UNANSWERED, math.nan),
        UNANSWERED: row.get(UNANSWERED, math.nan),
    }
    for p in names:  # the answered share each score rests on, and its mark
        metrics[f"{p}_answered"] = row.get(f"{p}_answered", math.nan)
        metrics[f"{p}_fallback_settings"] = row.get(f"{p}_fallback_settings", 0.0)
        metrics[f"{p}_thin"] = bool(row.get(f"{p}_thin", False))
    return metrics


@dataclass
class Priced:
    """One member set's cost on a batch of designs: every figure an array, one per design
    (the search prices one design, the exact enumeration a unit's whole grid, alike)."""

    pre: dict[str, Any]
    dec: dict[str, Any]
    latency_s: np.ndarray
    energy_j: np.ndarray
    area_mm2: np.ndarray  # at the search's area node (simulators.normalise's rule)
    memory_gb: np.ndarray
    capacity_gb: np.ndarray
    tech_nm: np.ndarray
    area_scope: list[str]

    @property
    def runs(self) -> np.ndarray:
        return np.asarray(self.pre["feasible"], dtype=bool)

    def costs(self) -> dict[str, np.ndarray]:
        """The cost objectives by name (COSTS), one value per design."""
        return {
            "latency_ms": self.latency_s * 1e3,
            "energy_mj": self.energy_j * 1e3,
            "area_mm2": self.area_mm2,
        }

    def metrics(self, i: int, area_node_nm: float | None) -> dict[str, Any]:
        """Design `i`'s reported cost figures."""
        latency, energy = float(self.latency_s[i]), float(self.energy_j[i])
        node, capacity = float(self.tech_nm[i]), float(self.capacity_gb[i])
        return {
            "latency_ms": latency * 1e3,
            "energy_mj": energy * 1e3,
            "area_mm2": float(self.area_mm2[i]),
            "area_mm2_native": float(self.pre["area_mm2"][i]),
            "area_node_nm": area_node_nm if math.isfinite(node) else None,
            "area_group": scope_key(self.area_scope[i]),
            "memory_gb": float(self.memory_gb[i]),
            "prefill_ms": float(self.pre["latency_s"][i]) * 1e3,
            "decode_ms_per_token": float(self.dec["latency_s"][i]) * 1e3,
            # named as the simulators name them: one decode step's energy per generated token
            # (prefill excluded), and the whole request's (the energy objective, energy_mj)
            "decode_energy_per_token_mj": float(self.dec["energy_per_token_j"][i]) * 1e3,
            "energy_per_request_mj": energy * 1e3,
            "average_power_w": energy / latency if latency > 0 else None,
            "area_scope": self.area_scope[i],
            "tech_nm": node if math.isfinite(node) else None,
            "unit_memory_gb": capacity if math.isfinite(capacity) else None,
        }


def price(
    ctx: SearchContext,
    designs: DesignBatch,
    variants: list,
    schedule: str,
    run_probability: list[float] | None = None,
) -> Priced:
    """A request (prefill, then `new_tokens` decode steps) of `variants` under `schedule` on
    every design of the batch."""
    pre, dec = (
        evaluate(designs, w, variants, schedule, run_probability=run_probability)
        for w in (ctx.prefill, ctx.decode)
    )
    n_new = ctx.settings.new_tokens
    rates = designs.rates()
    scope = rates.area_scope
    return Priced(
        pre,
        dec,
        latency_s=pre["latency_s"] + n_new * dec["latency_s"],
        energy_j=pre["energy_j"] + n_new * dec["energy_j"],
        area_mm2=area_objective(pre, ctx.settings.area_node_nm),
        memory_gb=dec["memory_bytes"] / 1e9,
        capacity_gb=np.asarray(rates.capacity_bytes, dtype=float) / 1e9,
        tech_nm=np.asarray(rates.tech_nm, dtype=float),
        area_scope=[scope] * len(designs) if isinstance(scope, str) else list(scope),
    )


def with_parameter_costs(config: Config, cost: Priced) -> Priced:
    """The cost after every parameter group's declared cost hook (in group order)."""
    for group in groups():
        if group.cost is not None:
            cost = group.cost(config, cost)
    return cost


def constraint_arrays(ctx: SearchContext, row: dict, cost: Priced) -> dict[str, np.ndarray]:
    """Each constraint's value per design (feasible when ≤ 0): memory within the budget and
    the unit's own memory, the MMLU floor, the refusal bound, the area bound."""
    n = len(cost.latency_s)
    out = {"memory_gb": cost.memory_gb - np.minimum(ctx.settings.budget_gb, cost.capacity_gb)}
    if ctx.mmlu_floor is not None:
        mmlu = or_default(row.get(ctx.mmlu_suite, math.nan), -math.inf)
        out["mmlu"] = np.full(n, ctx.mmlu_floor - mmlu)
    if ctx.settings.max_refusal < 1:
        unanswered = or_default(row.get(UNANSWERED, math.nan), 1.0)
        out["refusal"] = np.full(n, unanswered - ctx.settings.max_refusal)
    if ctx.settings.max_area_mm2 is not None:
        out["area_mm2"] = cost.area_mm2 - ctx.settings.max_area_mm2
    return out


def area_objective(pre: dict[str, Any], node_nm: float | None) -> np.ndarray:
    """Each design's modelled area at `node_nm` (simulators.normalise's rule: the DRAM PHY
    kept), or at its own node when None or its node is unknown."""
    if node_nm is None:
        return np.asarray(pre["area_mm2"], dtype=float)
    return np.asarray(
        area_at_node(pre["area_mm2"], pre["dram_phy_mm2"], pre["tech_nm"], node_nm), dtype=float
    )


def _storage(spec, schedule: str, nested: bool, members: int) -> str:
    """Which weight storage the memory model applied, and why."""
    planes = SCHEDULES.get(schedule).bitplane or spec.params.get("weight_storage") == "bitplane"
    if members == 1:
        return "bit-plane" if planes else "packed"
    if planes and nested:
        return "bit-plane: one nested set, stored once as the widest member's planes"
    if planes:
        return "bit-plane per member: independent quantizations share no planes"
    return "packed, each member stored apart"


def or_default(value: float | None, default: float) -> float:
    """``value``, or ``default`` where it is None or NaN (an undefined metric)."""
    return default if value is None or math.isnan(value) else value


class Objective:
    """`study.optimize(Objective(ctx), ...)`: one trial = one configuration."""

    def __init__(self, ctx: SearchContext) -> None:
        self.ctx = ctx

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        config = suggest(trial, self.ctx.space)
        outcome = evaluate_config(self.ctx, config)
        trial.set_user_attr("config", config_dict(config, self.ctx))
        trial.set_user_attr("metrics", jsonable(outcome.metrics))
        if outcome.cannot_run is not None:
            trial.set_user_attr("cannot_run", outcome.cannot_run)
            raise optuna.TrialPruned(outcome.cannot_run)
        if HAS_SET_CONSTRAINT:
            with warnings.catch_warnings():
                # a trial run again after its worker died inherits the constraints that worker
                # had set (the same configuration's, so the same values): Optuna keeps them
                warnings.filterwarnings("ignore", "The constraint value is ignored")
                for name, value in outcome.constraints.items():
                    trial.set_constraint(name, _finite(value))
        else:  # Optuna 4: read back by the samplers' constraints_func
            trial.set_user_attr("constraints", [_finite(v) for v in outcome.constraints.values()])
        return outcome.values  # type: ignore[return-value]


def _finite(value: float) -> float:
    return max(min(value, 1e12), -1e12)


def jsonable(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out
