"""What a search run ended with, for a person deciding what to build: how the trials fared,
which constraints decided anything, how good the front is and how it grew, the best
configuration per objective, and how to reproduce the run. Written as summary.json and
summary.md beside pareto.json, and printed at the end of every search."""

from __future__ import annotations

import platform
import re
import shlex
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from codesign import __version__
from codesign.search.objective import DIRECTIONS, OBJECTIVES
from codesign.search.pareto import as_minimised, constraint_values, feasible, hypervolume
from codesign.search.study import INTERRUPTED_ATTR

LIBRARIES = ("optuna", "numpy", "pandas", "sqlalchemy", "torch", "transformers", "gptqmodel")
UNITS = {"memory_gb": "GB", "area_mm2": "mm²", "mmlu": "points", "refusal": "(share)"}
LIMITS = {  # constraint -> what the user set, for the words of the summary
    "memory_gb": "--budget-gb (or the unit's own memory)",
    "area_mm2": "--max-area-mm2",
    "mmlu": "the MMLU floor",
    "refusal": "--max-refusal",
}


def run_record(
    sampler: str, seed: int | None, n_trials: int, store: str, argv: list[str], url: str
) -> dict[str, Any]:
    """How to reproduce the run: sampler, seed, trial count, versions, date, and the command
    line (``argv``, with the store ``url`` shown as ``store``: credentials redacted)."""
    versions = {"codesign": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    argv = [store if a == url else a for a in argv]
    return {
        "sampler": sampler,
        "seed": seed,
        "n_trials": n_trials,
        "versions": versions,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": store,
        "command": "python -m codesign.search " + shlex.join(argv),
    }


def trial_breakdown(study: optuna.Study) -> dict[str, Any]:
    """Complete / feasible / infeasible by constraint / pruned by reason / failed."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    over: Counter[str] = Counter()
    for t in complete:
        for name, value in constraint_values(t).items():
            if value > 0:
                over[name] += 1
    pruned = Counter(
        _reason(t.user_attrs.get("cannot_run", "pruned"))
        for t in trials
        if t.state == TrialState.PRUNED
    )
    return {
        "trials": len(trials),
        "complete": len(complete),
        "feasible": sum(feasible(t) for t in complete),
        "infeasible": sum(not feasible(t) for t in complete),
        "infeasible_by_constraint": dict(over.most_common()),
        "pruned": sum(pruned.values()),
        "pruned_by_reason": dict(pruned.most_common()),
        **_unfinished(trials),
    }


def _unfinished(trials: list[FrozenTrial]) -> dict[str, int]:
    """Trials in every other state: failed (by Ctrl-C, by a worker that died — each run
    again — or by an error of their own), still running, queued."""
    failed = [t for t in trials if t.state == TrialState.FAIL]
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", ())}
    interrupted = sum(bool(t.user_attrs.get(INTERRUPTED_ATTR)) for t in failed)
    died = sum(t.number in retried for t in failed)
    return {
        "failed": len(failed),
        "failed_interrupted": interrupted,
        "failed_worker_died": died,
        "failed_error": len(failed) - interrupted - died,
        "running": sum(t.state == TrialState.RUNNING for t in trials),
        "waiting": sum(t.state == TrialState.WAITING for t in trials),
    }


def _reason(text: str) -> str:
    """A pruning reason without the trial's own members, so like reasons count together."""
    text = text.split(";")[0]
    return re.sub(r"\b\d+(?:/\d+)*-bit weights", "these widths", text)


def constraint_activity(
    study: optuna.Study,
    front: list[FrozenTrial],
    unresolved: dict[str, str] | None = None,
    how: dict[str, str] | None = None,
    exact_excluded: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Per constraint: how many complete trials it excluded (configurations, from
    ``exact_excluded``, for an exact study), and the least slack left on the front (limit
    minus value, in the constraint's unit). A constraint that excluded nothing never bound
    this run; ``unresolved`` names constraints whose measurement is too coarse to bind at
    their tolerance, and why (said instead of "never bound")."""
    unresolved, how = unresolved or {}, how or {}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted({k for t in complete for k in constraint_values(t)})
    out = {}
    for name in names:
        excluded = sum(constraint_values(t).get(name, 0) > 0 for t in complete)
        if exact_excluded is not None:
            excluded = exact_excluded.get(name, 0)
        slack = [-constraint_values(t)[name] for t in front if name in constraint_values(t)]
        out[name] = {
            "set_by": LIMITS.get(name, name),
            "excluded_trials": excluded,
            "binds": excluded > 0,
            "unresolved": unresolved.get(name),
            "how": how.get(name),
            "least_slack_on_front": min(slack) if slack else None,
            "unit": UNITS.get(name, ""),
        }
    return out


def hypervolume_history(study: optuna.Study) -> dict[str, Any]:
    """The front's hypervolume after each trial, every objective scaled to [0, 1] over the
    study's feasible trials (maximised ones negated), against the reference point 1.1."""
    done = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)
    ]
    done.sort(key=lambda t: t.number)
    if not done:
        return {"final": 0.0, "history": [], "reference_point": None}
    points = as_minimised([t.values for t in done], DIRECTIONS)
    low, high = points.min(axis=0), points.max(axis=0)
    steps = sorted(set(np.linspace(1, len(done), min(len(done), 60)).round().astype(int)))
    history = [
        {"trial": done[k - 1].number, "hypervolume": hypervolume(points[:k], low, high)}
        for k in steps
    ]
    return {
        "final": history[-1]["hypervolume"],
        "history": history,
        "reference_point": "1.1 on each objective scaled to [0, 1] over the feasible trials "
        f"(trust negated; larger is better, at most 1.1^{len(OBJECTIVES)} = "
        f"{1.1 ** len(OBJECTIVES):.4f} for one point best in every objective)",
        "scale": {
            name: {"best": float(lo), "worst": float(hi)}
            if d == "minimize"
            else {"best": float(-lo), "worst": float(-hi)}
            for name, d, lo, hi in zip(OBJECTIVES, DIRECTIONS, low, high, strict=True)
        },
    }


def _no_history() -> dict[str, Any]:
    return {"final": None, "history": [], "reference_point": None}


def best_per_objective(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The front's best row for each objective (its number n in pareto.csv and the table);
    for area, the best of each area scope (a die's area does not rank against an array's)."""
    out = {}
    for name, d in zip(OBJECTIVES, DIRECTIONS, strict=True):
        if name == "area_mm2":
            out[name] = {"by_scope": _best_area_by_scope(rows)}
            continue
        pick = (max if d == "maximize" else min)(rows, key=lambda r: r[name])
        out[name] = {"n": pick["n"], "value": pick[name], "configuration": describe(pick)}
    return out


def _best_area_by_scope(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    scopes = sorted({str(r.get("area_scope")) for r in rows})
    out = {}
    for scope in scopes:
        pick = min((r for r in rows if str(r.get("area_scope")) == scope), key=_area)
        node = pick.get("area_node_nm") or pick.get("tech_nm")
        out[scope] = {
            "n": pick["n"],
            "value": pick["area_mm2"],
            "node_nm": node,
            "configuration": describe(pick),
        }
    return out


def _area(row: dict[str, Any]) -> float:
    return float(row["area_mm2"])


def what_to_pick(rows: list[dict[str, Any]]) -> list[str]:
    """The highest-trust front row within the front's median latency, and within its median
    energy: a starting point for a latency target and for an energy target. Rows whose trust
    gain over dense holds out (or the dense model alone, which claims none) and whose trust
    rests on answers, not refusals, come first; a higher-trust row passed over is named, with
    why."""
    lines = []
    for name, unit, what in (("latency_ms", "ms", "latency"), ("energy_mj", "mJ", "energy")):
        target = float(np.median([r[name] for r in rows]))
        within = [r for r in rows if r[name] <= target]
        top = max(within, key=lambda r: r["trust"])
        sound = [r for r in within if _sound(r)]
        pick = max(sound, key=lambda r: r["trust"]) if sound else top
        text = (
            f"for {what} ≤ {target:.3g} {unit} (the front's median): #{pick['n']} "
            f"{describe(pick)} — trust {pick['trust']:.1f}, {pick[name]:.3g} {unit}"
        )
        if pick is not top:
            text += f" (over #{top['n']}, trust {top['trust']:.1f}: {_unsound(top)})"
        elif not sound:
            text += f" (no row within it is sound: {_unsound(top)})"
        lines.append(text)
    return lines


def _sound(row: dict[str, Any]) -> bool:
    held = row.get("held_out")
    gain_ok = held is None or held.get("holds", False)
    return gain_ok and not row.get("thin_perspectives")


def _unsound(row: dict[str, Any]) -> str:
    why = []
    held = row.get("held_out")
    if held is not None and not held.get("holds", False):
        why.append(f"its gain over dense does not hold out ({held['text']} on half-splits)")
    if row.get("thin_perspectives"):
        why.append(f"its {', '.join(row['thin_perspectives'])} score rests on refusals")
    return "; ".join(why)


def trust_uncertainty(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Which front rows the items cannot tell apart from the best in trust, and the best's
    interval and gap to dense (None when the rows carry no intervals)."""
    if not rows or rows[0].get("trust_ci95_low") is None:
        return None
    best = max(rows, key=lambda r: r["trust"])
    tied = [r["n"] for r in rows if r.get("indistinguishable_from_best")]
    return {
        "best": best["n"],
        "best_trust": best["trust"],
        "best_ci95": [best["trust_ci95_low"], best["trust_ci95_high"]],
        "best_vs_dense": best["trust_vs_dense"],
        "best_vs_dense_ci95": [best["trust_vs_dense_ci95_low"], best["trust_vs_dense_ci95_high"]],
        "indistinguishable_from_best": tied,
        "how": best.get("trust_interval_source"),
    }


SPACE_NOTE = (
    "ensembles are searched within one quantization method (with the dense model); "
    "ensembles mixing methods (e.g. GPTQ with AWQ members) are not in this space — "
    "`python -m codesign.report` ranks them too"
)


def held_out_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The held-out check of the front's best and of each row not distinguishable from it:
    each group's check once, then how often each row was that group's pick on a half."""
    if not rows or "held_out" not in rows[0]:
        return []
    best = max(rows, key=lambda r: r["trust"])
    chosen = [best] + [r for r in rows if r is not best and r.get("indistinguishable_from_best")]
    groups: dict[str, dict[str, Any]] = {}
    picked: dict[str, list[int]] = {}  # "15/20 (+0.0 there)" -> row numbers
    for r in chosen:
        h = r.get("held_out")
        if not h:
            picked.setdefault("the dense model, the reference", []).append(r["n"])
            continue
        groups[h["group"]] = h
        when = h["gain_when_picked"]
        gain = "" if when is None else f" ({when:+.1f} there)".replace("-", "−")
        text = f"{h['picked_splits']}/{h['splits']}{gain}" if h["picked_splits"] else "never"
        picked.setdefault(text, []).append(r["n"])
    checks = [
        f"the best {g} gains {h['text']} vs dense — "
        + ("holds out" if h["holds"] else "does not hold out")
        for g, h in groups.items()
    ]
    out = [f"{'; '.join(checks)} (picked on one half, scored on the other: as `report`)"]
    out.append(
        "how often each of the best and ≈ rows was that pick: "
        + "; ".join(f"#{number_ranges(ns)} {text}" for text, ns in picked.items())
    )
    return out


def number_ranges(numbers: list[int]) -> str:
    """[5, 6, 7, 8, 11] → '5–8,11' (row numbers, as the table and the plots show them)."""
    numbers = sorted(numbers)
    parts, run = [], [numbers[0]]
    for n in [*numbers[1:], None]:
        if n is not None and n == run[-1] + 1:
            run.append(n)
            continue
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [n]
    return ",".join(parts)


def refusal_marks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Which front rows carry a perspective score that rests on refusals (marked †), with the
    answered share and stand-in settings of each such score."""
    marked = [r for r in rows if r.get("thin_perspectives")]
    detail = {}
    for r in marked:
        detail[str(r["n"])] = {
            p: {
                "answered": r.get(f"{p}_answered"),
                "fallback_settings": r.get(f"{p}_fallback_settings") or 0,
            }
            for p in r["thin_perspectives"]
        }
    return {"marked": [r["n"] for r in marked], "detail": detail, "of": len(rows)}


def _marks_line(marks: dict[str, Any]) -> str | None:
    if not marks or not marks["marked"]:
        return None
    first = str(marks["marked"][0])
    parts = []
    for p, d in marks["detail"][first].items():
        stand_in = d["fallback_settings"]
        extra = f", {stand_in:.0f} setting(s) scored by the formula's stand-in" if stand_in else ""
        parts.append(f"{p} on {d['answered']:.0%} answered{extra}")
    return (
        f"refusal-marked (†): {len(marks['marked'])} of {marks['of']} front configurations "
        f"have a trust perspective resting on refusals (e.g. #{first}: {'; '.join(parts)}); "
        "their trust partly measures what was refused, not how the answers fared"
    )


def describe(row: dict[str, Any]) -> str:
    members = row.get("members") or row.get("ensemble") or ""
    if isinstance(members, list | tuple):
        members = "+".join(map(str, members))
    return f"{members}, {row.get('schedule', '')}, {row.get('unit', '')}".strip(", ")


def build(
    study: optuna.Study,
    front: list[FrozenTrial],
    rows: list[dict[str, Any]],
    run: dict,
    unresolved: dict[str, str] | None = None,
    how: dict[str, str] | None = None,
    exact: dict[str, Any] | None = None,
    exact_share: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`exact`: the enumeration's record when the study holds an exact front (its constraint
    counts are over every configuration, and there is no sampling history to draw);
    `exact_share`: a sampled study's hypervolume against a stored exact front's."""
    excluded = exact["excluded"] if exact else None
    return {
        "study": study.study_name,
        "run": run,
        "trials": trial_breakdown(study),
        "exact": exact,
        "exact_share": exact_share,
        "constraints": constraint_activity(study, front, unresolved, how, excluded),
        "hypervolume": hypervolume_history(study) if not exact else _no_history(),
        "best": best_per_objective(rows),
        "what_to_pick": what_to_pick(rows),
        "trust_uncertainty": trust_uncertainty(rows),
        "refusal_marks": refusal_marks(rows),
        "held_out": held_out_lines(rows),
        "search_space": SPACE_NOTE,
        "pareto_size": len(rows),
    }


def _trial_lines(t: dict[str, Any]) -> list[str]:
    """How the study's trials stand: complete, feasible, pruned (why), failed (how)."""
    failed = (
        f" ({t['failed_interrupted']} by Ctrl-C, {t['failed_worker_died']} by a worker "
        f"that died, each run again; {t['failed_error']} by an error)"
        if t["failed"]
        else ""
    )
    out = [
        f"trials: {t['trials']} — {t['complete']} complete ({t['feasible']} feasible, "
        f"{t['infeasible']} infeasible), {t['pruned']} pruned, {t['failed']} failed{failed}, "
        f"{t['running']} running, {t['waiting']} queued"
    ]
    out += [f"  infeasible by {name}: {n}" for name, n in t["infeasible_by_constraint"].items()]
    out += [f"  pruned ({n}): {reason}" for reason, n in t["pruned_by_reason"].items()]
    return out


def _constraint_lines(constraints: dict[str, Any], exact: bool) -> list[str]:
    """Per constraint: what it excluded (configurations when enumerated exactly) and the
    least slack left on the front."""
    out = []
    for name, c in constraints.items():
        slack = c["least_slack_on_front"]
        room = "–" if slack is None else f"{slack:.3g} {c['unit']}"
        counted = "configurations" if exact else "trials"
        state = f"excluded {c['excluded_trials']:,} {counted}" if c["binds"] else "never bound"
        if c.get("unresolved"):
            state += f"; its measurement {c['unresolved']}"
        what = f"{c['set_by']}: {c['how']}" if c.get("how") else c["set_by"]
        out.append(f"constraint {name} ({what}): {state}; least slack on the front {room}")
    return out


def _exact_lines(exact: dict[str, Any] | None, share: dict[str, Any] | None) -> list[str]:
    out = []
    if exact:
        why = ", ".join(f"{n:,} {k}" for k, n in exact["cannot_run"].items() if n)
        out.append(
            f"exact front: every one of {exact['configurations']:,} configurations priced in "
            f"{exact['seconds']:.0f} s ({exact['feasible']:,} feasible, {exact['front']} "
            f"Pareto-optimal, before rows with identical outcomes become one; cannot run: "
            f"{why or 'none'}); the study holds the front and a sample of the rest as trials"
        )
    if share and share.get("share") is not None:
        out.append(
            f"exact front known (study {share['exact_study']!r}): this study's trials reach "
            f"{share['share']:.1%} of its hypervolume (trust, log10 latency/energy/area scaled "
            "over every feasible configuration, reference point 1.1)"
        )
    return out


def lines(summary: dict[str, Any]) -> list[str]:
    """The summary in a few lines of plain text (terminal and summary.md)."""
    out = _exact_lines(summary.get("exact"), summary.get("exact_share"))
    if not summary.get("exact"):
        out += _trial_lines(summary["trials"])
    out += _constraint_lines(summary["constraints"], bool(summary.get("exact")))
    hv = summary["hypervolume"]
    if hv["history"]:
        first = hv["history"][0]["hypervolume"]
        out.append(
            f"hypervolume {hv['final']:.4f} (objectives normalised, reference point 1.1 each, "
            f"best possible {1.1 ** len(OBJECTIVES):.4f}; {first:.4f} after the first feasible "
            "trial; hypervolume.png shows its growth)"
        )
    for name, b in summary["best"].items():
        for scope, one in b.get("by_scope", {}).items():
            at = "" if one["node_nm"] is None else f", at {one['node_nm']:g} nm"
            out.append(
                f"best {name} ({scope}{at}): #{one['n']} {one['configuration']} "
                f"({one['value']:.4g})"
            )
        if "n" in b:
            out.append(f"best {name}: #{b['n']} {b['configuration']} ({b['value']:.4g})")
    out += [f"what to pick {line}" for line in summary["what_to_pick"]]
    u = summary.get("trust_uncertainty")
    if u:
        low, high = u["best_ci95"]
        d_low, d_high = u["best_vs_dense_ci95"]
        out.append(
            f"trust uncertainty: the best, #{u['best']}, has {u['best_trust']:.1f} "
            f"[{low:.1f}, {high:.1f}], {u['best_vs_dense']:+.1f} vs dense [{d_low:+.1f}, "
            f"{d_high:+.1f}]; {len(u['indistinguishable_from_best'])} of "
            f"{summary['pareto_size']} front configurations are not distinguishable from it "
            f"(marked ≈; {u['how']})"
        )
    out += [f"held out: {text}" for text in summary.get("held_out", [])]
    if summary.get("search_space"):
        out.append(f"search space: {summary['search_space']}")
    from codesign.search.machine import lines as machine_lines

    out += machine_lines(summary.get("this_machine"))
    marks = _marks_line(summary.get("refusal_marks"))
    if marks:
        out.append(marks)
    phases = summary.get("phase_seconds")
    if phases:
        total = sum(phases.values())
        parts = ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
        out.append(f"time by phase: {parts}; {total:.0f} s in all")
    r = summary["run"]
    out.append(
        f"reproduce: {r['command']}  (sampler {r['sampler']}, seed {r['seed']}, codesign "
        f"{r['versions']['codesign']}, {r['date']})"
    )
    return out


def write(out: Path, summary: dict[str, Any]) -> list[Path]:
    """summary.json, summary.md and hypervolume.png in ``out``."""
    import json

    from codesign.search.export import _clean

    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2, allow_nan=False))
    md = [f"# Search outcome: {summary['study']}", ""]
    md += [
        f"- {line}" if not line.startswith("  ") else f"  - {line.strip()}"
        for line in lines(summary)
    ]
    (out / "summary.md").write_text("\n".join(md) + "\n")
    paths = [out / "summary.json", out / "summary.md"]
    png = _plot_history(out, summary)
    return paths + ([png] if png else [])


def _plot_history(out: Path, summary: dict[str, Any]) -> Path | None:
    hv = summary["hypervolume"]["history"]
    if len(hv) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["trial"] for h in hv], [h["hypervolume"] for h in hv], marker=".", lw=1)
    ax.set_xlabel("trial number")
    ax.set_ylabel("hypervolume (normalised)")
    ax.set_title(f"{summary['study']}: front quality over trials", fontsize=9)
    ax.grid(alpha=0.3)
    fig.text(
        0.01,
        0.01,
        "objectives scaled to [0, 1] over the feasible trials; reference point 1.1",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path = out / "hypervolume.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
