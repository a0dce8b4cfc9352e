"""Predicted against measured decode latency, per stored profile (CPU or GPU).

Reads the measurement store's profile table (`Store.profiles_frame()`), maps each device to a
roofline target (H100, A100 from their datasheets with the fitted efficiency terms; a CPU from
the bandwidth and matmul rate measured beside the profile when it was made, else from a
bandwidth the user gives or measures here), models one decode step of the profiled variant at
the profiled batch and context, and reports the relative error. A kernel that dequantizes to
dense weights moves dense bytes, so such rows are modelled at the run's dense width and say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from codesign.errors import CodesignError
from codesign.simulators.design import DesignBatch
from codesign.simulators.families.roofline import kernel_of_width
from codesign.simulators.ppa import evaluate
from codesign.simulators.spec import UnitSpec, load_unit
from codesign.simulators.variants import Variant, weight_bytes
from codesign.simulators.workload import ModelShape, Workload

GPU_TARGETS = {"h100": "h100", "a100": "a100"}
DTYPE_BITS = {"float32": 32, "fp32": 32, "float16": 16, "fp16": 16, "bfloat16": 16, "bf16": 16}
COLUMNS = [
    "model",
    "device",
    "target",
    "kernel",
    "method",
    "bits",
    "group_size",
    "batch_size",
    "context_len",
    "measured_ms",
    "predicted_ms",
    "error_pct",
    "measured_weight_bytes",
    "modelled_weight_bytes",
    "synthetic_weights",
    "note",
]


def target_for(
    device: str,
    cpu: UnitSpec | None,
    targets: Mapping[str, UnitSpec] | None = None,
    row: Mapping[str, Any] | None = None,
) -> tuple[UnitSpec | None, str]:
    """The roofline spec for a profile's device string, or None and why not. A CPU row that
    stored its host's bandwidth is modelled with it unless a CPU target is given."""
    text = str(device).lower()
    for key, unit in GPU_TARGETS.items():
        if key in text:
            spec = (targets or {}).get(unit) or load_unit(unit)
            return spec, ""
    if text.startswith("cpu"):
        if cpu is not None:
            return cpu, ""
        stored = stored_cpu_target(row or {})
        if stored is not None:
            return stored, "CPU bandwidth and matmul rate measured with the profile (stored)"
        return None, "no CPU roofline: give --cpu-bandwidth-gbs or --measure"
    return None, f"no roofline spec for device {device!r}"


def stored_cpu_target(row: Mapping[str, Any]) -> UnitSpec | None:
    """The CPU roofline from the host figures stored beside a profile, if it has them."""
    bandwidth, peak = row.get("host_bandwidth_gbs"), row.get("host_peak_tflops")
    if _missing(bandwidth) or _missing(peak):
        return None
    return load_unit(
        "cpu",
        {
            "bandwidth_gbs": float(bandwidth),
            "peak_tflops": float(peak),
            "source": "bandwidth and matmul rate measured on the profiling host with the profile",
        },
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _dense_bits(row: Mapping[str, Any], spec: UnitSpec) -> int:
    dtype = str(row.get("dtype") or "").lower().replace("torch.", "")
    return DTYPE_BITS.get(dtype, int(spec.params.get("dense_weight_bits", 16)))


def _dequantized(row: Mapping[str, Any]) -> bool:
    real = row.get("real_low_bit")
    if not _missing(real):
        return not bool(real)
    return "dequant" in str(row.get("kernel", "")).lower()


KERNEL_FAMILIES = (  # substring of a profile's kernel name -> calibration.WEIGHT_ONLY_KERNELS
    ("marlin", "marlin"),
    ("machete", "marlin"),
    ("exllama", "exllama"),
    ("tinygemm", "tinygemm"),
    ("int4pack", "tinygemm"),
    ("awq", "awq-gemm"),
)


def kernel_family(kernel: str) -> str | None:
    """The weight-only kernel family a profile's kernel name belongs to, if one is known."""
    text = kernel.lower()
    return next((family for key, family in KERNEL_FAMILIES if key in text), None)


def predict_row(row: Mapping[str, Any], spec: UnitSpec) -> tuple[float, float, str]:
    """Modelled decode ms per step and modelled weight bytes for one profile row."""
    shape = ModelShape.from_config(row["model_config"], name=str(row["model"]))
    group = None if _missing(row.get("group_size")) else int(row["group_size"])
    method = str(row["method"])
    variant = Variant.dense() if method == "dense" else Variant(method, int(row["bits"]), group)
    dense = _dense_bits(row, spec)
    notes = []
    traffic = variant
    if method != "dense" and _dequantized(row):
        traffic = Variant.dense()
        notes.append(f"dequantized kernel: weights modelled at {dense} bits")
    overrides: dict[str, Any] = {"dense_weight_bits": dense, "act_bits": dense}
    family = kernel_family(str(row.get("kernel") or ""))
    if traffic is variant and method != "dense" and spec.family == "roofline":
        field = kernel_of_width(variant.bits)
        if family is not None:
            overrides[field] = family
            notes.append(f"kernel modelled as {family}")
        else:
            notes.append(f"kernel {row.get('kernel')!r} unknown: modelled as {spec.params[field]}")
    designs = DesignBatch.from_spec(spec, **overrides)
    work = Workload.decode(shape, int(row["context_len"]), int(row["batch_size"]), kv_bits=dense)
    out = evaluate(designs, work, [traffic])
    modelled = weight_bytes(shape, variant, dense_bits=dense).total
    return float(out["latency_s"][0]) * 1e3, modelled, "; ".join(notes)


def validate_profiles(
    frame: pd.DataFrame,
    *,
    cpu: UnitSpec | None = None,
    targets: Mapping[str, UnitSpec] | None = None,
) -> pd.DataFrame:
    """One row per profile: measured and modelled decode ms per step and the error in %.

    cpu: the roofline spec for CPU profiles (None skips them, saying why); targets: optional
    replacements for the bundled GPU specs by unit name.
    """
    rows = []
    for record in frame.to_dict("records"):
        spec, why = target_for(record.get("device", ""), cpu, targets, record)
        predicted, modelled, note = math.nan, math.nan, why
        if spec is not None:
            try:
                predicted, modelled, note = predict_row(record, spec)
                note = "; ".join(n for n in (why, note) if n)
            except (CodesignError, KeyError, TypeError, ValueError) as exc:
                note = f"cannot model this row: {exc}"
        measured = float(record.get("decode_ms_per_token", math.nan))
        error = (predicted - measured) / measured * 100 if measured > 0 else math.nan
        rows.append(
            {
                "model": record.get("model"),
                "device": record.get("device"),
                "target": spec.label() if spec is not None else "",
                "kernel": record.get("kernel"),
                "method": record.get("method"),
                "bits": record.get("bits"),
                "group_size": record.get("group_size"),
                "batch_size": record.get("batch_size"),
                "context_len": record.get("context_len"),
                "measured_ms": measured,
                "predicted_ms": predicted,
                "error_pct": error,
                "measured_weight_bytes": record.get("weight_bytes"),
                "modelled_weight_bytes": modelled,
                "synthetic_weights": record.get("synthetic_weights"),
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per target: rows modelled and the median and worst absolute error in %."""
    done = results.dropna(subset=["error_pct"])
    if done.empty:
        return pd.DataFrame(
            columns=["target", "profiles", "median_abs_error_pct", "max_abs_error_pct"]
        )
    grouped = done.assign(abs_error=done["error_pct"].abs()).groupby("target")["abs_error"]
    return pd.DataFrame(
        {
            "profiles": grouped.size(),
            "median_abs_error_pct": grouped.median(),
            "max_abs_error_pct": grouped.max(),
        }
    ).reset_index()
