"""The machine at hand, predicted: modelled vs measured decode latency of every variant the
store profiled, beside the search's projections.

The search prices configurations for a cost shape on candidate units; the only hardware it
has measured is the one the profiles ran on. `simulators.validate` models each profile's decode
step on that host (the CPU roofline from the kernel terms stored with the profile, a GPU's
bundled spec) and compares it with the measured step: the error says how far the cost
model's numbers can be taken on real hardware, and the summary prints it.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from codesign.store import Store

TARGET_MEDIAN_PCT = 25.0  # issue 36's bar for the CPU roofline on the main job's store


def machine_check(store: Store, model: str) -> dict[str, Any] | None:
    """Per profiled variant of ``model`` (batch 1): measured and modelled ms per decode step
    and the error; the median and worst absolute error. None when nothing was profiled."""
    from codesign.simulators.validate import validate_profiles

    frame = store.profiles_frame()
    if frame.empty:
        return None
    frame = frame[(frame["model"] == model) & (frame["batch_size"] == 1)]
    if frame.empty:
        return None
    results = validate_profiles(frame)
    done = results.dropna(subset=["error_pct"])
    rows = [_row(r) for r in results.to_dict("records")]
    errors = done["error_pct"].abs()
    return {
        "device": str(frame["device"].iloc[0]),
        "variants": rows,
        "median_abs_error_pct": float(errors.median()) if len(errors) else None,
        "max_abs_error_pct": float(errors.max()) if len(errors) else None,
        "target_median_pct": TARGET_MEDIAN_PCT,
        "how": "simulators.validate: the profile's host modelled (CPU: roofline from the "
        "kernel terms measured with the profile — GEMV streaming rate, the variant's kernel "
        "rate, layer overhead — plus the per-step residual of the other profiles, "
        "leave-one-out), one decode step at the profile's context, against its measured "
        "median step",
    }


def _row(r: dict[str, Any]) -> dict[str, Any]:
    label = r["method"] if r["method"] == "dense" else f"{r['method']}-w{r['bits']}"
    return {
        "variant": label,
        "kernel": r["kernel"],
        "measured_ms": _num(r["measured_ms"]),
        "modelled_ms": _num(r["predicted_ms"]),
        "error_pct": _num(r["error_pct"]),
        "note": r["note"],
    }


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) or not math.isfinite(value) else float(value)


def lines(check: dict[str, Any] | None) -> list[str]:
    """The summary's lines: each variant's modelled vs measured step, then the verdict."""
    if not check:
        return []
    parts = [
        f"{v['variant']} {_ms(v['modelled_ms'])} vs {_ms(v['measured_ms'])}"
        + ("" if v["error_pct"] is None else f" ({v['error_pct']:+.0f}%)")
        for v in check["variants"]
    ]
    median, worst = check["median_abs_error_pct"], check["max_abs_error_pct"]
    if median is None:
        verdict = "no profile could be modelled (see `simulators validate --store`)"
    else:
        met = "within" if median <= check["target_median_pct"] else "over"
        verdict = (
            f"median |error| {median:.0f}% ({met} the {check['target_median_pct']:g}% bar on the "
            f"median), worst {worst:.0f}%: read the modelled costs with that in mind"
        )
    return [
        f"this machine ({check['device']}), decode ms per step modelled vs measured: "
        + ", ".join(parts),
        f"this machine: {verdict}",
    ]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g} ms"
