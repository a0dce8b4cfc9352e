"""The Optuna objective: a configuration from the trial, its trust looked up, its cost modelled.

Objectives: trust (maximize; mean of the four trust perspectives, from stored predictions by
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

import optuna

from codesign.ensembles.scores import MAX_UNANSWERED, UNANSWERED
from codesign.errors import CodesignError
from codesign.measurements.evaluate.suites import trust_suites
from codesign.search.context import SearchContext, scope_key
from codesign.search.space import Config, suggest
from codesign.simulators import SCHEDULES, DesignBatch, evaluate
from codesign.simulators.normalise import area_at_node
from codesign.simulators.variants import one_nested_set

OBJECTIVES = ("trust", "latency_ms", "energy_mj", "area_mm2")
DIRECTIONS = ("maximize", "minimize", "minimize", "minimize")
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
    metrics: dict[str, Any] = {p: row.get(p, math.nan) for p in trust_suites()}
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
    for p in trust_suites():  # the answered share each score rests on, and its mark
        metrics[f"{p}_answered"] = row.get(f"{p}_answered", math.nan)
        metrics[f"{p}_fallback_settings"] = row.get(f"{p}_fallback_settings", 0.0)
        metrics[f"{p}_thin"] = bool(row.get(f"{p}_thin", False))
    if math.isnan(row["trust"]):
        missing = [p for p in trust_suites() if math.isnan(row.get(p, math.nan))]
        reason = f"trust undefined: no {', '.join(missing)} score (too few answered items)"
        return Outcome(None, metrics=metrics, cannot_run=reason)
    try:
        spec = ctx.unit_design(config.unit, config.unit_params)
    except CodesignError as exc:
        return Outcome(None, metrics=metrics, cannot_run=str(exc))
    keys, run_probability = list(config.members), None
    if config.schedule == "cascade":
        keys = ctx.trust.cascade_order(keys, config.cascade_order or "ascending")
        run_probability = ctx.trust.run_probabilities(keys, config.vote_rule)
        metrics["cascade_members"] = [ctx.trust.member(k).label for k in keys]
        metrics["run_probability"] = run_probability
    designs = DesignBatch.from_specs([spec])
    variants = [ctx.variants[k] for k in keys]
    nested = one_nested_set(variants)
    if SCHEDULES.get(config.schedule).bitplane and len(variants) > 1 and not nested:
        labels = "+".join(ctx.trust.member(k).label for k in keys)
        reason = (
            f"{config.schedule} needs the members to be one nested set (the top bit-planes of "
            f"one quantization); {labels} are independent quantizations"
        )
        return Outcome(None, metrics=metrics, cannot_run=reason)
    metrics["weight_storage"] = _storage(spec, config.schedule, nested, len(variants))
    pre, dec = (
        evaluate(designs, w, variants, config.schedule, run_probability=run_probability)
        for w in (ctx.prefill, ctx.decode)
    )
    if not bool(pre["feasible"][0]):
        widths = sorted({v.bits for v in variants}, reverse=True)
        reason = f"{spec.name} cannot run {'/'.join(map(str, widths))}-bit weights together"
        return Outcome(None, metrics=metrics, cannot_run=reason)
    n_new = ctx.settings.new_tokens
    latency = float(pre["latency_s"][0] + n_new * dec["latency_s"][0])
    energy = float(pre["energy_j"][0] + n_new * dec["energy_j"][0])
    memory = float(dec["memory_bytes"][0]) / 1e9
    rates = designs.rates()
    capacity = float(rates.capacity_bytes[0]) / 1e9
    node = float(rates.tech_nm[0])
    area = area_objective(pre, ctx.settings.area_node_nm)
    metrics |= {
        "latency_ms": latency * 1e3,
        "energy_mj": energy * 1e3,
        "area_mm2": area,
        "area_mm2_native": float(pre["area_mm2"][0]),
        "area_node_nm": ctx.settings.area_node_nm if math.isfinite(node) else None,
        "area_group": scope_key(rates.area_scope),
        "memory_gb": memory,
        "prefill_ms": float(pre["latency_s"][0]) * 1e3,
        "decode_ms_per_token": float(dec["latency_s"][0]) * 1e3,
        # named as the simulators name them: one decode step's energy per generated token
        # (prefill excluded), and the whole request's (the energy objective, energy_mj)
        "decode_energy_per_token_mj": float(dec["energy_per_token_j"][0]) * 1e3,
        "energy_per_request_mj": energy * 1e3,
        "average_power_w": energy / latency if latency > 0 else None,
        "area_scope": rates.area_scope,
        "tech_nm": node if math.isfinite(node) else None,
        "unit_memory_gb": capacity if math.isfinite(capacity) else None,
    }
    limit = min(ctx.settings.budget_gb, capacity)
    constraints = {"memory_gb": memory - limit}
    if ctx.mmlu_floor is not None:
        metrics["mmlu"] = row.get(ctx.mmlu_suite, math.nan)
        constraints["mmlu"] = ctx.mmlu_floor - or_default(metrics["mmlu"], -math.inf)
    if ctx.settings.max_refusal < 1:
        constraints["refusal"] = or_default(metrics[UNANSWERED], 1.0) - ctx.settings.max_refusal
    if ctx.settings.max_area_mm2 is not None:
        constraints["area_mm2"] = area - ctx.settings.max_area_mm2
    values = (row["trust"], latency * 1e3, energy * 1e3, area)
    return Outcome(values, constraints, metrics)


def area_objective(pre: dict[str, Any], node_nm: float | None) -> float:
    """The unit's modelled area at `node_nm` (simulators.normalise's rule: the DRAM PHY kept),
    or at its own node when None or its node is unknown."""
    if node_nm is None:
        return float(pre["area_mm2"][0])
    scaled = area_at_node(pre["area_mm2"], pre["dram_phy_mm2"], pre["tech_nm"], node_nm)
    return float(scaled[0])


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
        trial.set_user_attr("metrics", _jsonable(outcome.metrics))
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


def _jsonable(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out
