"""Predicted against measured decode latency, per stored profile (CPU or GPU).

Reads the measurement store's profile table (`Store.profiles_frame()`), maps each device to a
roofline target (H100, A100 from their datasheets with the fitted efficiency terms; a CPU from
the kernel terms measured beside the profile when it was made — measurements.kernel_probe —, or
for older profiles the copy bandwidth and matmul rate, else from a bandwidth the user gives or
measures here), models one decode step of the profiled variant at the profiled batch and
context, and reports the relative error. A probed CPU row also gets the per-step time its parts
leave out, estimated leave-one-out from the other profiles of its model and host. A kernel that
dequantizes to dense weights moves dense bytes, so such rows are modelled at the run's dense
width and say so.
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
            if stored.source == PROBE_SOURCE:
                return stored, "CPU kernel terms measured with the profile (stored)"
            return stored, "CPU bandwidth and matmul rate measured with the profile (stored)"
        return None, "no CPU roofline: give --cpu-bandwidth-gbs or --measure"
    return None, f"no roofline spec for device {device!r}"


PROBE_SOURCE = (
    "the variant's kernel terms measured on the profiling host with the profile "
    "(measurements.kernel_probe: GEMV streaming rate, kernel rate, layer overhead)"
)
MIN_OTHERS = 2  # profiles besides a row's own that its per-step residual is estimated from


def host_probe(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The kernel terms stored with a CPU profile (schema 4 on), if it has them."""
    probe = row.get("host_kernels")
    if isinstance(probe, Mapping) and not _missing(probe.get("gemv_gbs")):
        return probe
    return None


def stored_cpu_target(row: Mapping[str, Any]) -> UnitSpec | None:
    """The CPU roofline from the host figures stored beside a profile, if it has them: the
    kernel probe's GEMV rate and layer overhead where measured, else numpy's copy bandwidth."""
    bandwidth, peak = row.get("host_bandwidth_gbs"), row.get("host_peak_tflops")
    if _missing(bandwidth) or _missing(peak):
        return None
    params = {
        "bandwidth_gbs": float(bandwidth),
        "peak_tflops": float(peak),
        "source": "bandwidth and matmul rate measured on the profiling host with the profile",
    }
    probe = host_probe(row)
    if probe is not None:
        params.update(bandwidth_gbs=float(probe["gemv_gbs"]), source=PROBE_SOURCE)
        if not _missing(probe.get("layer_overhead_us")):
            params["layer_overhead_us"] = float(probe["layer_overhead_us"])
    return load_unit("cpu", params)


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


def _packed(row: Mapping[str, Any], probe: Mapping[str, Any] | None, dense: int) -> bool:
    """Whether the loaded linears hold packed low-bit weights: measured by the probe (module
    bytes per weight), else read from the profile's kernel record."""
    if probe is not None and not _missing(probe.get("linear_bits")):
        return float(probe["linear_bits"]) < dense - 0.5
    return not _dequantized(row)


def predict_row(row: Mapping[str, Any], spec: UnitSpec) -> tuple[float, float, str]:
    """Modelled decode ms per step and modelled weight bytes for one profile row."""
    shape = ModelShape.from_config(row["model_config"], name=str(row["model"]))
    group = None if _missing(row.get("group_size")) else int(row["group_size"])
    method = str(row["method"])
    variant = Variant.dense() if method == "dense" else Variant(method, int(row["bits"]), group)
    dense = _dense_bits(row, spec)
    probe = host_probe(row) if spec.source == PROBE_SOURCE else None
    notes = []
    traffic = variant
    if method != "dense" and not _packed(row, probe, dense):
        traffic = Variant.dense()
        notes.append(f"dequantized kernel: weights modelled at {dense} bits")
    overrides: dict[str, Any] = {"dense_weight_bits": dense, "act_bits": dense}
    family = kernel_family(str(row.get("kernel") or ""))
    if probe is not None and traffic is variant and method != "dense":
        overrides["kernel_gbs"] = float(probe["kernel_gbs"])
        notes.append(f"kernel measured at {float(probe['kernel_gbs']):.2g} GB/s of packed weights")
    elif traffic is variant and method != "dense" and spec.family == "roofline":
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
                "probed": spec is not None and spec.source == PROBE_SOURCE,
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
    return with_host_residual(pd.DataFrame(rows, columns=["probed", *COLUMNS]))


def with_host_residual(results: pd.DataFrame) -> pd.DataFrame:
    """Add to each probed row the per-step time its parts leave out (embedding, final norm,
    cache bookkeeping, the Python between layers): the median of what the model misses on the
    other profiles of the same model on the same host, never the row's own (leave-one-out)."""
    out = results.copy()
    missed = out["measured_ms"] - out["predicted_ms"]
    same = out["device"].astype(str) + "\x00" + out["model"].astype(str)
    for i in out.index[out["probed"].astype(bool)]:
        others = missed[(same == same[i]) & out["probed"].astype(bool) & (out.index != i)]
        others = others.dropna()
        if len(others) < MIN_OTHERS:
            note = f"no per-step residual: fewer than {MIN_OTHERS} other profiles on this host"
        else:
            extra = float(others.median())
            out.at[i, "predicted_ms"] += extra
            note = (
                f"{extra:+.3g} ms per step: the median residual of the {len(others)} other "
                "profiles of this model on this host (leave-one-out)"
            )
        out.at[i, "note"] = "; ".join(n for n in (out.at[i, "note"], note) if n)
    measured = out["measured_ms"].where(out["measured_ms"] > 0)
    out["error_pct"] = (out["predicted_ms"] - measured) / measured * 100
    return out[COLUMNS]


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
