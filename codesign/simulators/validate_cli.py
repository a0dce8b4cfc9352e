"""`python -m codesign.simulators validate --store URL`: modelled against measured decode
latency for every stored profile, with the error, as a table.
`python -m codesign.simulators validate --published`: modelled against the published GPU
measurements the roofline efficiency terms were fitted to (and held out from), every point with
its source.

The store is imported lazily (it belongs to the measurements stage): when it cannot be opened
the command says so in one line and exits 2; when it holds no profiles it says there is
nothing to validate and exits 0.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import pandas as pd
from rich.console import Console

from codesign.commandline.parsers import make_parser
from codesign.errors import CodesignError
from codesign.paths import DEFAULT_STORE_URL, default_store_url
from codesign.simulators import table as fmt
from codesign.simulators.spec import UnitSpec, load_unit
from codesign.simulators.validate import summarise, validate_profiles
from codesign.validation import Number


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "simulators validate", "Modelled vs measured decode latency per stored profile."
    )
    p.add_argument(
        "--store",
        help="SQLAlchemy URL of the measurement store (default: $CODESIGN_STORE or "
        f"{DEFAULT_STORE_URL}; with --published alone, no store is read)",
    )
    p.add_argument(
        "--published",
        action="store_true",
        help="check the GPU targets against the published measurements shipped in the package",
    )
    p.add_argument(
        "--cpu-bandwidth-gbs",
        type=Number(float, 0, 1e6, above=True),
        help="CPU memory bandwidth for CPU rows",
    )
    p.add_argument(
        "--cpu-peak-gflops",
        type=Number(float, 0, 1e9, above=True),
        help="CPU peak (default: measured here)",
    )
    p.add_argument("--measure", action="store_true", help="measure CPU copy bandwidth here (numpy)")
    return p


def cpu_target(args: argparse.Namespace) -> UnitSpec | None:
    """The CPU roofline from options or a measurement here; None when neither is given."""
    if args.cpu_bandwidth_gbs is None and not args.measure:
        return None
    overrides: dict[str, object] = {}
    if args.cpu_bandwidth_gbs is not None:
        overrides["bandwidth_gbs"] = args.cpu_bandwidth_gbs
        overrides["source"] = "CPU bandwidth given on the command line"
    if args.cpu_peak_gflops is not None:
        overrides["peak_tflops"] = args.cpu_peak_gflops / 1e3
    return load_unit("cpu", overrides)


def load_profiles(url: str) -> pd.DataFrame:
    """The store's profile table; CodesignError when the store cannot be opened."""
    try:
        from codesign.store import Store
    except ImportError as exc:
        raise CodesignError(
            f"nothing to validate: the measurement store is unavailable ({exc})"
        ) from None
    try:
        return Store(url, read_only=True).profiles_frame()
    except CodesignError as exc:
        raise CodesignError(f"nothing to validate: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any driver failure is one line for the user
        raise CodesignError(f"nothing to validate: cannot open store ({exc})") from None


def _cell(value: object, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "ms":
        return f"{float(value):.3g} ms"
    if kind == "pct":
        return f"{float(value):+.1f} %"
    return str(value)


def render(results: pd.DataFrame, out: Console, notes: Sequence[str] = ()) -> None:
    cols = ["model", "device", "method", "bits", "kernel", "batch_size", "context_len"]
    rows = [
        [_cell(r[c], "") for c in cols]
        + [_cell(r["measured_ms"], "ms"), _cell(r["predicted_ms"], "ms")]
        + [_cell(r["error_pct"], "pct"), _cell(r["note"], "")]
        for r in results.to_dict("records")
    ]
    heads = [*cols, "measured decode", "modelled decode", "error", "note"]
    caption = (
        "Modelled: analytical roofline (bundled h100/a100 datasheet specs; CPU from the kernel "
        "terms stored with the profile plus the other profiles' per-step residual, "
        "leave-one-out, else from the given or measured bandwidth). Measured: the store's "
        "median decode ms per token."
    )
    caption = "\n".join([caption, *notes])
    out.print(fmt.table("Decode latency: modelled vs measured", heads, rows, caption))
    summary = summarise(results)
    srows = [
        [
            r["target"],
            str(r["profiles"]),
            f"{r['median_abs_error_pct']:.1f} %",
            f"{r['max_abs_error_pct']:.1f} %",
        ]
        for r in summary.to_dict("records")
    ]
    heads = ["target", "profiles", "median |error|", "max |error|"]
    out.print(fmt.table("Error by target", heads, srows, ""))


def render_published(out: Console) -> dict[str, float]:
    """Every published point: predicted in sample and with its own row left out of the fit,
    published, error of each, role and source; the verdict quotes the out-of-sample errors."""
    from codesign.simulators.gpu_fit import leave_one_out
    from codesign.simulators.published import published_points, summary

    points = published_points()
    n_fit = int((points["role"] == "fit").sum())
    with out.status(f"refitting the GPU terms {n_fit} times, each without one fit row"):
        results = leave_one_out(points)
    out.print(fmt.table("GPU targets: modelled vs published", *_published_table(results)))
    stats = summary(results)
    out.print(_published_verdict(stats))
    _render_pe_shapes(out)
    _render_energy(out)
    return stats


def _render_pe_shapes(out: Console) -> None:
    """Per-PE area and power by array shape: the shape fit's error on shapes it never saw,
    beside calibration's one-shape rule (a 4 x 4 row / 16 for every shape)."""
    from codesign.simulators import pe_shape

    rows, medians = [], {}
    for metric in pe_shape.METRICS:
        held = pe_shape.leave_one_shape_out(metric)["error_pct"].abs()
        one = pe_shape.one_shape_error(metric)
        fit = pe_shape.fit_shape(pe_shape.synthesis_rows(), metric)
        medians[metric] = float(held.median())
        rows.append(
            [
                metric,
                f"{held.median():.1f} % / {held.max():.1f} %",
                f"{one.median():.1f} % / {one.max():.1f} %",
                f"{fit.a:+.3f}",
                f"{fit.b:+.3f}",
            ]
        )
    heads = ["per PE", "held-out shapes: median / max", "4 x 4 / 16 everywhere", "a (N)", "b (M)"]
    caption = (
        f"{pe_shape.SOURCE}. Model: scale(PE kind) · N^a · M^b, a and b shared by the 7 PE "
        "kinds; 'held-out': each of the 15 shapes predicted by the fit over the other 14."
    )
    out.print(fmt.table("Accelerator PEs by array shape", heads, rows, caption))
    # the target is on area and dynamic power; leakage is shown, not held to it
    ok = max(medians["area_um2"], medians["dynamic_uw"]) <= pe_shape.TARGET_MEDIAN_PCT
    out.print(
        f"PE area and dynamic power on held-out array shapes: median <= "
        f"{pe_shape.TARGET_MEDIAN_PCT:g} %: {'met' if ok else 'NOT met'}."
    )


def _published_table(results) -> tuple[list[str], list[list[str]], str]:
    from codesign.simulators.published import METRIC_UNITS

    sources = {name: i + 1 for i, name in enumerate(dict.fromkeys(results["source"]))}
    rows = [
        [
            r["id"],
            f"{r['gpu']} {r['model'].removeprefix('llama-2-')}",
            f"{r['bits']}"
            + (f" g{int(r['group_size'])}" if r["group_size"] == r["group_size"] else ""),
            r["kernel"],
            str(r["batch"]),
            f"{r['input_tokens']}/{r['output_tokens']}",
            f"{r['metric']} ({METRIC_UNITS[r['metric']]})",
            f"{r['published']:.4g}",
            f"{r['predicted']:.4g}",
            f"{r['error_pct']:+.1f} %",
            f"{r['predicted_left_out']:.4g}",
            f"{r['error_left_out_pct']:+.1f} %",
            r["role"],
            f"[{sources[r['source']]}]",
        ]
        for r in results.to_dict("records")
    ]
    heads = ["point", "gpu model", "bits", "kernel", "batch", "in/out", "metric", "published"]
    heads += ["in sample", "error", "left out", "error", "role", "src"]
    where = dict(zip(results["source"], results["where"], strict=True))
    cited = [f"[{i}] {name}: {where[name]}" for name, i in sources.items()]
    caption = "\n".join(
        [
            "Predicted: analytical roofline with the fitted efficiency terms (calibration."
            "GPU_EFFICIENCY, WEIGHT_ONLY_KERNELS; codesign.simulators.gpu_fit). 'in sample': the "
            "terms fitted on every 'fit' row; 'left out': a fit row predicted by the terms "
            "refitted without it (a 'holdout' row was never fitted: both columns agree). Left "
            "out of the set: NeMo's Llama-2-13B rows (faster than the fp16 bandwidth floor) "
            "and TensorRT-LLM's FP8 rows.",
            *cited,
        ]
    )
    return heads, rows, caption


def _render_energy(out: Console) -> None:
    """GPU energy against ML.ENERGY's measured H100 energy: the shipped preset (its power
    model fitted on these rows) and the power model held out by model."""
    from codesign.simulators import gpu_energy

    frame = gpu_energy.validate()
    rows = [
        [
            r["model"],
            f"{r['avg_batch_size']:.0f}",
            f"{r['median_itl_ms']:.1f} / {r['itl_ms_modelled']:.1f}",
            f"{r['avg_power_watts']:.0f} / {r['power_w_modelled']:.0f} / "
            f"{r['power_w_held_out']:.0f}",
            f"{r['energy_per_token_joules']:.3f} / {r['energy_per_token_modelled']:.3f} / "
            f"{r['energy_per_token_held_out']:.3f}",
        ]
        for r in frame.to_dict("records")
    ]
    heads = ["model", "batch", "step ms: measured / modelled", "W: measured / h100 / held out",
             "J per token: measured / h100 / held out"]  # fmt: skip
    caption = (
        f"{gpu_energy.SOURCE}. Batch <= {gpu_energy.MAX_BATCH}; decode context: an assumed "
        f"{gpu_energy.PROMPT_TOKENS}-token prompt plus half the mean output. 'h100': the "
        "shipped preset, whose energy per DRAM bit and per MAC were fitted on these rows; "
        "'held out': the same power model refitted without the row's model. W 'held out' "
        "uses the measured step time (the power model alone); J per token uses the modelled "
        "one (the model end to end). Measured energy per token includes prefill."
    )
    out.print(fmt.table("GPU energy against measured energy (ML.ENERGY)", heads, rows, caption))
    parts = []
    for label, column in (
        ("step time (h100)", "itl_error_pct"),
        ("energy per token (h100, in sample)", "energy_error_pct"),
        ("power (held out by model)", "power_held_out_error_pct"),
        ("energy per token (held out by model)", "energy_held_out_error_pct"),
    ):
        err = frame[column].abs()
        parts.append(f"{label}: median {err.median():.1f} %, worst {err.max():.1f} %")
    out.print("Measured H100 energy (ML.ENERGY): " + "; ".join(parts) + ".")


def _published_verdict(stats: dict[str, float]) -> str:
    from codesign.simulators.published import (
        OUT_OF_SAMPLE_MAX_PCT,
        OUT_OF_SAMPLE_MEDIAN_PCT,
        TARGET_MAX_PCT,
        TARGET_MEDIAN_PCT,
    )

    med, worst = stats["out_of_sample_median"], stats["out_of_sample_max"]
    ok = med <= OUT_OF_SAMPLE_MEDIAN_PCT and worst <= OUT_OF_SAMPLE_MAX_PCT
    in_ok = stats["median"] <= TARGET_MEDIAN_PCT and stats["max"] <= TARGET_MAX_PCT
    return (
        f"{int(stats['points'])} points, out of sample (every fit row predicted without "
        f"itself, held-out rows as they are): median |error| {med:.1f} %, max {worst:.1f} % "
        f"(fit rows left out: median {stats['fit_left_out_median']:.1f} %, max "
        f"{stats['fit_left_out_max']:.1f} %; held out: median {stats['holdout_median']:.1f} %, "
        f"max {stats['holdout_max']:.1f} %). Target: median <= {OUT_OF_SAMPLE_MEDIAN_PCT:g} %, "
        f"none > {OUT_OF_SAMPLE_MAX_PCT:g} %: {'met' if ok else 'NOT met'}. In sample: median "
        f"{stats['median']:.1f} %, max {stats['max']:.1f} % (target median <= "
        f"{TARGET_MEDIAN_PCT:g} %, none > {TARGET_MAX_PCT:g} %: {'met' if in_ok else 'NOT met'})."
    )


def main(argv: Sequence[str], out: Console) -> int:
    args = build_parser().parse_args(list(argv))
    defaulted = not args.published and not args.store
    if defaulted:
        args.store = default_store_url()
    if args.store:  # a bad URL or a missing file fails before any output
        from codesign.store import check_store_url

        try:
            check_store_url(args.store, must_exist=True)
        except CodesignError as exc:
            hint = " (or give --published for the published GPU points)" if defaulted else ""
            raise CodesignError(f"{exc}{hint}") from None
    if args.published:
        render_published(out)
        if not args.store:
            return 0
    frame = load_profiles(args.store)
    if frame.empty:
        print(f"nothing to validate: the store {args.store} holds no profiles")
        return 0
    cpu = cpu_target(args)
    render(validate_profiles(frame, cpu=cpu), out, cpu.notes if cpu is not None else ())
    return 0
