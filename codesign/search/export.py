"""The search's outputs: pareto.json/csv, one deploy-<n>.yaml per Pareto configuration, a table.

Every row names where each number came from: trust measured on the model (stored predictions,
voting; real or stand-in data), MMLU measured, costs modelled (analytical, on the row's unit
spec) for the cost shape, and the one-line statement "trust measured on <model>, cost modelled
for <shape> on <unit>".
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import yaml
from optuna.trial import FrozenTrial
from rich.console import Console
from rich.table import Table

from codesign.ensembles.bootstrap import LEVEL, N_BOOT, trust_intervals
from codesign.measurements.evaluate.suites import trust_suites
from codesign.scoring.profiles import PROFILES
from codesign.search.context import SearchContext
from codesign.search.objective import DIRECTIONS, OBJECTIVES
from codesign.search.parameters.unit import spec_mapping
from codesign.search.pareto import constraint_values
from codesign.simulators.normalise import AREA_RULE

INTERVAL_SOURCE = (
    f"{LEVEL:.0%} paired bootstrap over items ({N_BOOT} draws within each suite setting; "
    "the same draws for dense and for the front's best)"
)
ANSWER_FIELDS = ("answered", "fallback_settings", "thin")
THIN_TEXT = (
    "marked: the score rests on fewer than half its items answered, or on settings the "
    "formula scored by a stand-in (comp-trust's fairness: fewer than 3 answers in a setting → "
    "parity gaps 0, the best value), so refusing can raise it"
)
VOTE_RULE_TEXT = {
    "majority": "unweighted majority; a tie goes to the highest-precision member's label",
    "weighted": "each member weighted by its MMLU log-likelihood accuracy; ties to the highest "
    "precision",
}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def intervals(ctx: SearchContext, configs: list[tuple[tuple[str, ...], str]]) -> list[dict]:
    """Each configuration's trust interval (`ensembles.bootstrap`), or nothing per row when the
    store holds no dense model to pair against."""
    if ctx.preds is None or not configs:
        return [{} for _ in configs]
    try:
        found = trust_intervals(ctx.preds, configs)
    except ValueError:
        return [{} for _ in configs]
    return [ci.as_dict() for ci in found]


def pareto_rows(trials: list[FrozenTrial], ctx: SearchContext) -> list[dict[str, Any]]:
    """One flat row per Pareto trial, best trust first, numbered from 1, with each row's 95%
    trust interval (paired bootstrap over items) beside its trust."""
    ordered = sorted(trials, key=lambda t: (-t.values[0], *t.values[1:], t.number))
    configs = [
        (tuple(t.user_attrs["config"]["variant_keys"]), t.user_attrs["config"]["vote_rule"])
        for t in ordered
    ]
    uncertainty = intervals(ctx, configs)
    names = ctx.trust.perspectives  # the trust perspectives measured: trust's terms
    rows = []
    for n, t in enumerate(ordered, 1):
        config, metrics = t.user_attrs["config"], t.user_attrs["metrics"]
        spec = ctx.unit_design(config["unit"], config["unit_params"])
        row: dict[str, Any] = {"n": n, "trial": t.number, **config}
        row["trust"] = metrics.get("trust")
        row |= uncertainty[n - 1]
        row |= {k: metrics.get(k) for k in (*names, "refusal_rate", "no_valid_rate")}
        row["unanswered_rate"] = metrics.get("unanswered_rate")
        row["max_unanswered_rate"] = metrics.get("max_unanswered_rate")
        for p in names:
            row |= {f"{p}_{k}": metrics.get(f"{p}_{k}") for k in ANSWER_FIELDS}
        row["thin_perspectives"] = [p for p in names if metrics.get(f"{p}_thin")]
        row |= {k: metrics.get(k) for k in ("mmlu_ll", "mmlu_gen")}
        if ctx.mmlu_suite:
            low, high = ctx.mmlu_interval(metrics.get(ctx.mmlu_suite))
            row |= {"mmlu_ci95_low": low, "mmlu_ci95_high": high, "mmlu_items": ctx.mmlu_items}
        row |= {k: metrics.get(k) for k in ("latency_ms", "energy_mj", "area_mm2", "memory_gb")}
        row |= {k: metrics.get(k) for k in ("prefill_ms", "decode_ms_per_token")}
        row |= {
            k: metrics.get(k)
            for k in (
                "energy_per_request_mj",
                "decode_energy_per_token_mj",
                "average_power_w",
                "area_scope",
                "area_mm2_native",
                "area_node_nm",
                "tech_nm",
                "weight_storage",
            )
        }
        row["cascade_members"] = metrics.get("cascade_members")
        row["run_probability"] = metrics.get("run_probability")
        row |= {f"constraint_{k}": v for k, v in constraint_values(t).items()}
        row |= {
            "feasible": True,
            "model_measured": ctx.model,
            "baseline": ctx.trust.baseline,
            "data": ctx.trust.data_origin(),
            "scoring": ctx.trust.profile,
            "trust_source": f"measured on {ctx.model} (stored predictions, voting)",
            "trust_interval_source": INTERVAL_SOURCE if uncertainty[n - 1] else None,
            "mmlu_source": f"measured ({ctx.mmlu_suite})" if ctx.mmlu_suite else None,
            "cost_shape": ctx.shape_label,
            "cost_source": f"{spec.label()} for {ctx.shape_label}",
            "statement": ctx.statement(config["unit"]),
        }
        rows.append(_clean(row))
    return collapse_equivalent(rows)


# what a row's outcome is: rows equal in all of these are one configuration to a user
OUTCOME_FIELDS = ("trust", "latency_ms", "energy_mj", "area_mm2", "memory_gb", "mmlu_ll")
CHOICE_FIELDS = ("vote_rule", "schedule", "cascade_order", "unit")


def collapse_equivalent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same members, the same unit parameters and identical outcomes become one
    row listing the equivalent choices: a two-member ensemble under majority and weighted
    voting (which always agree), or two unit families the model prices alike at those
    parameters (a bit-serial and a bit-plane array under a cascade); rows renumbered from 1."""
    kept: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = (
            tuple(sorted(row["variant_keys"])),
            json.dumps(row["unit_params"], sort_keys=True),
            row.get("tech_nm"),
            tuple(_rounded(row.get(k)) for k in (*OUTCOME_FIELDS, *trust_suites())),
        )
        if key in kept:
            same = kept[key].setdefault("equivalent_choices", [])
            same.append({"trial": row["trial"], **{k: row.get(k) for k in CHOICE_FIELDS}})
        else:
            kept[key] = row
    out = list(kept.values())
    for n, row in enumerate(out, 1):
        row["n"] = n
    return out


def _rounded(value: Any) -> Any:
    return round(value, 9) if isinstance(value, float) else value


def summary(ctx: SearchContext, study_name: str, storage: str, n_trials: int) -> dict[str, Any]:
    s = ctx.settings
    return {
        "study": study_name,
        "storage": storage,
        "trials": n_trials,
        "statement": f"trust measured on {ctx.model}, cost modelled for {ctx.shape_label} on "
        "each configuration's unit",
        "model_measured": ctx.model,
        "baseline": ctx.trust.baseline,
        "cost_shape": ctx.shape_label,
        "workload": ctx.workload_text(),
        "objectives": dict(zip(OBJECTIVES, DIRECTIONS, strict=True)),
        "constraints": {
            "memory_gb": {
                "max": s.budget_gb,
                "how": "weights + KV cache ≤ --budget-gb and ≤ the unit's own memory",
            },
            "mmlu": {
                "suite": ctx.mmlu_suite,
                "min": ctx.mmlu_floor,
                "how": ctx.mmlu_note,
                "questions": ctx.mmlu_items,
                "reference_ci95": ctx.mmlu_reference_ci95,
                "cannot_bind": ctx.mmlu_unresolved(),
            },
            "area_mm2": {"max": s.max_area_mm2} if s.max_area_mm2 is not None else None,
        },
        "area": {
            "node_nm": s.area_node_nm,
            "scope": s.area_scope,
            "how": (
                f"every unit's area at {s.area_node_nm:g} nm ({AREA_RULE})"
                if s.area_node_nm
                else "each unit's area at its own node"
            )
            + "; ranked only between units whose area covers the same scope",
            "refusal": {
                "max": s.max_refusal,
                "how": "the share of trust items unanswered (refused or unparseable; the mean "
                "over the four perspectives) ≤ --max-refusal (1: no bound)",
            },
        },
        "data": ctx.trust.suites,
        "scoring": {"profile": ctx.trust.profile, "title": PROFILES.get(ctx.trust.profile).title},
        "sources": {
            "trust": "measured (stored predictions, voting); mean of "
            + ", ".join(ctx.trust.perspectives),
            "mmlu": f"measured ({ctx.mmlu_suite})" if ctx.mmlu_suite else None,
            "latency_ms, energy_mj, area_mm2, memory_gb": "modelled (analytical, per unit spec) "
            f"for {ctx.shape_label}",
        },
    }


def write_json(path: Path, head: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(_clean({**head, "pareto": rows}), indent=2, allow_nan=False))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def deployment(
    row: dict[str, Any],
    ctx: SearchContext,
    paths: dict[str, Any],
    here: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Pareto configuration as a deployment file: what to load, how to vote and run it."""
    spec = ctx.unit_design(row["unit"], row["unit_params"])
    choices = row.get("equivalent_choices")
    return _clean(
        {
            "deployment": row["n"],
            "statement": row["statement"],
            "study_trial": row["trial"],
            **({"equivalent_choices": choices} if choices else {}),
            "model": {
                "measured": ctx.model,
                "baseline": ctx.trust.baseline,
                "cost_shape": ctx.shape_label,
            },
            "variants": _variant_entries(row, ctx, paths),
            "vote": {
                "rule": row["vote_rule"],
                "description": VOTE_RULE_TEXT.get(row["vote_rule"], row["vote_rule"]),
                "refusals": "dropped, except on out-of-scope knowledge where they vote "
                "'I don't know'; nothing left → refused",
            },
            "schedule": _schedule_entry(row),
            "compute_unit": {
                "name": row["unit"],
                "family": row["unit_family"],
                "searched_parameters": row["unit_params"],
                "spec": spec_mapping(spec),
            },
            **({"parameters": row["parameters"]} if row.get("parameters") else {}),
            "workload": ctx.workload_text(),
            "predicted": _predicted(row, ctx, f"{spec.label()} for {ctx.shape_label}"),
            "data": row["data"],
            "scoring": row["scoring"],
            **({"cost_model_on_the_measured_host": _host_entry(here)} if here else {}),
        }
    )


def _variant_entries(row, ctx: SearchContext, paths: dict[str, Any]) -> list[dict[str, Any]]:
    """What to load: each member's recipe, its path and, when profiled, its measured figures."""
    variants = []
    for m in (ctx.trust.member(k) for k in row["variant_keys"]):
        entry = {
            "label": m.label,
            "key": m.key,
            "method": m.method,
            "bits": m.bits,
            "group_size": m.group_size,
            "seed": m.seed,
            "path": paths.get(m.key),
        }
        if m.key in ctx.profiles:
            entry["measured"] = ctx.profiles[m.key]
        variants.append(entry)
    return variants


def _schedule_entry(row: dict[str, Any]) -> dict[str, Any]:
    schedule: dict[str, Any] = {"name": row["schedule"]}
    if row["schedule"] == "cascade":
        schedule |= {
            "order": row["cascade_order"],
            "members_in_order": row.get("cascade_members") or [],
            "run_probability": row["run_probability"],
            "run_probability_source": "measured (lossless early exit over stored predictions)",
        }
    return schedule


UNANSWERED = ("refusal_rate", "no_valid_rate", "unanswered_rate", "max_unanswered_rate")
ENERGY = ("energy_per_request_mj", "decode_energy_per_token_mj", "average_power_w")


def _predicted(row: dict[str, Any], ctx: SearchContext, modelled: str) -> dict[str, Any]:
    """Every predicted metric with its source: trust and MMLU measured, costs ``modelled``."""
    return {
        "trust": {
            "value": row["trust"],
            "source": row["trust_source"],
            **_interval_entry(row),
            "held_out": row.get("held_out"),
        },
        **{p: _perspective_entry(row, p) for p in ctx.trust.perspectives},
        **{p: {"value": row[p], "source": row["trust_source"]} for p in UNANSWERED},
        **{
            s: {"value": row[s], "source": f"measured ({s})", **_mmlu_entry(row, ctx, s)}
            for s in ("mmlu_ll", "mmlu_gen")
        },
        "latency_ms": {"value": row["latency_ms"], "source": modelled},
        "energy_mj": {"value": row["energy_mj"], "source": modelled},
        **{k: {"value": row[k], "source": modelled} for k in ENERGY},
        "area_mm2": _area_entry(row, modelled),
        "memory_gb": {"value": row["memory_gb"], "source": modelled},
    }


def _area_entry(row: dict[str, Any], modelled: str) -> dict[str, Any]:
    return {
        "value": row["area_mm2"],
        "source": modelled,
        "scope": row["area_scope"],
        "node_nm": row.get("area_node_nm") or row["tech_nm"],
        "at_its_own_node": {
            "value": row.get("area_mm2_native", row["area_mm2"]),
            "node_nm": row["tech_nm"],
        },
        **({"scaled_by": AREA_RULE} if row.get("area_node_nm") else {}),
    }


def _host_entry(here: dict[str, Any]) -> dict[str, Any]:
    """How far the cost model is from the variants' measured decode steps on the host they
    were profiled on: the modelled figures above carry at least this uncertainty."""
    return {
        "device": here["device"],
        "median_abs_error_pct": here["median_abs_error_pct"],
        "max_abs_error_pct": here["max_abs_error_pct"],
        "per_variant": [
            {k: v[k] for k in ("variant", "measured_ms", "modelled_ms", "error_pct")}
            for v in here["variants"]
        ],
        "how": here["how"],
    }


def _perspective_entry(row: dict[str, Any], p: str) -> dict[str, Any]:
    entry = {"value": row[p], "source": row["trust_source"], "answered": row.get(f"{p}_answered")}
    if row.get(f"{p}_fallback_settings"):
        entry["fallback_settings"] = row[f"{p}_fallback_settings"]
    if row.get(f"{p}_thin"):
        entry["marked"] = THIN_TEXT
    return entry


def _mmlu_entry(row: dict[str, Any], ctx: SearchContext, suite: str) -> dict[str, Any]:
    if suite != ctx.mmlu_suite or row.get("mmlu_ci95_low") is None:
        return {}
    return {
        "ci95": [row["mmlu_ci95_low"], row["mmlu_ci95_high"]],
        "questions": row["mmlu_items"],
        "interval_source": "Wilson 95% interval of the accuracy",
    }


def _interval_entry(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("trust_ci95_low") is None:
        return {}
    return {
        "ci95": [row["trust_ci95_low"], row["trust_ci95_high"]],
        "vs_dense": {
            "value": row["trust_vs_dense"],
            "ci95": [row["trust_vs_dense_ci95_low"], row["trust_vs_dense_ci95_high"]],
        },
        "indistinguishable_from_best": row["indistinguishable_from_best"],
        "interval_source": row["trust_interval_source"],
    }


def write_deployments(
    out: Path, rows, ctx: SearchContext, paths: dict[str, Any], here: dict | None = None
) -> list[Path]:
    for old in out.glob("deploy-*.yaml"):
        old.unlink()  # a front that shrank leaves no stale configuration behind
    written = []
    for row in rows:
        path = out / f"deploy-{row['n']}.yaml"
        doc = deployment(row, ctx, paths, here)
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        path.write_text(f"# {row['statement']}\n{text}")
        written.append(path)
    return written


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


SCHEDULE_SHORT = {"sequential": "seq", "partitioned": "part", "shared-fetch": "shrd"}


def _ensemble(row: dict[str, Any]) -> str:
    bits = "+".join(str(b) for b in row["bits"])
    return f"{row['method']} {bits}" if row["method"] != "dense" else "dense"


def _vote(row: dict[str, Any]) -> str:
    """e.g. 'maj' or 'maj≡wtd' (equivalent choices, one row)."""
    if row["ensemble_size"] == 1:
        return "–"
    rules = [row["vote_rule"], *(e["vote_rule"] for e in row.get("equivalent_choices", ()))]
    short = {"majority": "maj", "weighted": "wtd"}
    return "≡".join(dict.fromkeys(short.get(r, r) for r in rules))


def _schedule(row: dict[str, Any]) -> str:
    if row["ensemble_size"] == 1:
        return "alone"
    if row["schedule"] == "cascade":
        return "casc" + ("↑" if row["cascade_order"] == "ascending" else "↓")
    return SCHEDULE_SHORT.get(row["schedule"], row["schedule"])


def _unit(row: dict[str, Any]) -> str:
    """e.g. 'bitfusion 64×16 128K b2 lpddr4x2': PE rows×cols, activation buffer, brick bits,
    memory interface."""
    p = dict(row["unit_params"])
    units = [row["unit"], *(e["unit"] for e in row.get("equivalent_choices", ()) if "unit" in e)]
    text = "≡".join(dict.fromkeys(units))
    if "array.rows" in p and "array.cols" in p:
        text += f" {p.pop('array.rows')}×{p.pop('array.cols')}"
    if "arrays.rows_scale" in p:
        text += f" rows×{p.pop('arrays.rows_scale'):g}"
    if "sram.act_kb" in p:
        text += f" {p.pop('sram.act_kb'):g}K"
    if "brick_bits" in p:
        text += f" b{p.pop('brick_bits')}"
    if "dram" in p:
        text += f" {p.pop('dram')}"
    return text + "".join(
        f" {k.split('.')[-1]}={v:g}" if isinstance(v, (int, float)) else f" {k}={v}"
        for k, v in p.items()
    )


def _ci(row: dict[str, Any]) -> str:
    low, high = row.get("trust_ci95_low"), row.get("trust_ci95_high")
    return "–" if low is None or high is None else f"{low:.0f}–{high:.0f}"


def _mmlu(row: dict[str, Any], ctx: SearchContext) -> str:
    value = _num(row.get(ctx.mmlu_suite or "mmlu_ll"), ".1f")
    low, high = row.get("mmlu_ci95_low"), row.get("mmlu_ci95_high")
    return value if low is None or high is None else f"{value} ±{(high - low) / 2:.0f}"


def _scope(row: dict[str, Any]) -> str:
    return " d" if row.get("area_scope") == "die" else ""


def _area_at(ctx: SearchContext) -> str:
    node = ctx.settings.area_node_nm
    return "at each unit's own node" if node is None else f"scaled to {node:g} nm"


def _node(row: dict[str, Any]) -> str:
    node = row.get("tech_nm")
    return "–" if node is None else f"{node:g} nm"


def print_table(console: Console, rows: list[dict[str, Any]], ctx: SearchContext, limit=25) -> None:
    table = Table(
        title=f"Pareto-optimal deployments: trust measured on {ctx.model}, cost modelled for "
        f"{ctx.shape_label} on each row's unit",
        caption="bits: the ensemble's precisions (16 = dense); vote: maj(ority) or w(eigh)t(ed); "
        "≡: equivalent choices (vote rules, unit families), identical outcomes (one row); "
        "schedule: seq(uential), part(itioned), sh(a)r(e)d-fetch, casc(ade) ↑ cheapest member "
        "first, ↓ most precise first; unit: PE rows×cols, activation buffer, brick bits; "
        "trust ≈: not distinguishable from the front's best, 95% CI: paired bootstrap over items; "
        "MMLU ±: half its Wilson 95% interval; † a perspective score rests on refusals (fewer than "
        "half its items answered, or comp-trust's fairness stand-in for a setting)",
    )
    for col in ("#", "bits", "vote", "schedule", "unit", "trust", "95% CI", "MMLU"):
        table.add_column(col, overflow="fold")
    for col in ("ms", "mJ", "W", "mm²", "node", "GB"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in rows[:limit]:
        table.add_row(
            str(row["n"]),
            _ensemble(row),
            _vote(row),
            _schedule(row),
            _unit(row),
            _num(row["trust"], ".1f")
            + (" †" if row.get("thin_perspectives") else "")
            + (" ≈" if row.get("indistinguishable_from_best") else ""),
            _ci(row),
            _mmlu(row, ctx),
            _num(row["latency_ms"], ".3g"),
            _num(row["energy_mj"], ".3g"),
            _num(row.get("average_power_w"), ".3g"),
            _num(row["area_mm2"], ".3g") + _scope(row),
            _node(row),
            _num(row["memory_gb"], ".2g"),
        )
    console.print(table)
    console.print(
        "ms, mJ: latency and energy per request; W: average power over it; mm²: unit area "
        f"({_area_at(ctx)}; d = whole die, else array + SRAM + DRAM PHY, compared only within "
        "a scope); node: the unit's own; GB: weights + KV cache (all modelled); trust and MMLU "
        "measured"
    )
    if len(rows) > limit:
        console.print(f"… {len(rows) - limit} more Pareto configurations in pareto.csv")
