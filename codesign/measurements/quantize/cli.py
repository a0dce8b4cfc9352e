"""``quantize``: its options, and the step that quantizes (or finds cached) every variant the
options name. ``evaluate`` shares both: it quantizes what is missing before it runs suites."""

from __future__ import annotations

import argparse
import re
import time

from rich.table import Table

from codesign.commandline.interrupts import on_interrupt
from codesign.commandline.output import console, megabytes
from codesign.commandline.parsers import add_store_option, parse_list
from codesign.commandline.progress import progress_bar
from codesign.errors import CodesignError
from codesign.measurements.quantize.calibration_text import OFFLINE_DEFAULT, CalibrationSpec
from codesign.measurements.quantize.models import DEFAULT_MODEL, MODEL_ALIASES
from codesign.measurements.quantize.recipes import AUTO_GROUP
from codesign.paths import check_cache_dir
from codesign.validation import COUNT, SEED, WORKERS, Number, distinct

GROUP = Number(int, 2, 65_536)


def group_size_arg(text: str) -> int | None:
    if text == "auto":
        return AUTO_GROUP
    if text in ("none", "-1", "channel"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not GROUP.low <= value <= GROUP.high or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"must be auto, none or a power of two from 2 to 65,536, got {text!r}"
        )
    return value


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str | None) -> str:
    """``--device`` as given (cpu, cuda, cuda:N) and present here, else the default."""
    if device is None:
        return default_device()
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise CodesignError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise CodesignError(f"--device {device}: no CUDA device is visible on this machine")
    return device


def add_model_option(p: argparse.ArgumentParser, required_default: str | None) -> None:
    p.add_argument(
        "--model",
        default=required_default,
        help=f"built-in alias ({', '.join(MODEL_ALIASES)}), a local Hugging Face model "
        f"directory, or a hub id (default: {required_default or 'every model in the store'})",
    )
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow a hub model's own Python code to run (off unless you ask)",
    )


def add_variant_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--method",
        default="gptq,awq",
        help="comma list of gptq, awq, anyprec (a nested set: its n-bit member is the top n "
        "bit-planes of its widest member, upscaled from the GPTQ variant at the smallest of "
        "--bits) (default: %(default)s)",
    )
    p.add_argument(
        "--bits",
        default="3,4,8",
        help="comma list of bit-widths: 2 (GPTQ only), 3, 4, 8 (default: %(default)s)",
    )
    p.add_argument(
        "--group-size",
        type=group_size_arg,
        default=AUTO_GROUP,
        help="quantization group size: auto (128, or the largest power of two that divides "
        "every layer width when 128 does not), a power of two, or none for per-channel "
        "(default: auto)",
    )
    p.add_argument(
        "--seeds",
        default="0",
        help="comma list of calibration seeds; several seeds "
        "give several variants of one precision (default: %(default)s)",
    )
    p.add_argument(
        "--no-dense", action="store_true", help="do not add the dense model as a variant"
    )


def add_quantize_options(q: argparse.ArgumentParser) -> None:
    add_store_option(q)
    add_model_option(q, DEFAULT_MODEL)
    add_variant_options(q)
    q.add_argument(
        "--calibration",
        default=OFFLINE_DEFAULT,
        help="calibration text: a hub dataset id (name or name:config, needs its 'text' "
        "column), a local .txt (paragraphs) or .jsonl file, or the offline default "
        f"'{OFFLINE_DEFAULT}' (docstrings of Python's standard library: seeded, and drawn "
        "from no evaluation set) (default: %(default)s)",
    )
    q.add_argument("--text-field", default="text", help="jsonl/hub field holding the text")
    q.add_argument(
        "--calib-samples",
        type=COUNT,
        default=8,
        help="calibration windows; sized for a 2-core CPU, raise on a GPU (default: 8)",
    )
    q.add_argument(
        "--calib-seq-len",
        type=Number(int, 8, 1_048_576),
        default=128,
        help="tokens per window (default: 128)",
    )
    q.add_argument(
        "--backend",
        default=None,
        help="force a backend (gptqmodel, llmcompressor); "
        "default: the one whose output is right for each method and bit-width",
    )
    q.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    q.add_argument(
        "--workers",
        type=WORKERS,
        default=1,
        help="processes sharing the work through the store, the cores split between them; the "
        "same command on another host with the same store joins in (default: 1)",
    )
    add_worker_options(q)


def add_worker_options(p: argparse.ArgumentParser) -> None:
    """``--wait`` and the hidden ``--worker`` of a command whose work is shared in units."""
    p.add_argument(
        "--wait",
        action="store_true",
        help="when nothing is left to claim, wait for the units other hosts hold and retake any "
        "whose lease runs out (their host died), until the whole job is done; workers started "
        "by --workers always wait (default: stop, saying what others still hold)",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def cmd_quantize(args: argparse.Namespace) -> int:
    store, _, _ = variants_from_args(args)
    console.print(f"store: {args.store}")
    return 0


def variant_labels(args: argparse.Namespace) -> list[str]:
    """The labels (``dense``, ``gptq-w4``…) of the variants the options name, before any work."""
    return grid_labels(
        parse_list(args.method, "method"),
        parse_list(args.bits, "bits", int),
        args.group_size,
        parse_list(args.seeds, "seeds", int),
        dense=not args.no_dense,
    )


def grid_labels(
    methods: list[str], bits: list[int], group_size, seeds: list[int], *, dense: bool = True
) -> list[str]:
    """The labels of a quantization grid's variants, dense first unless left out."""
    from codesign.measurements.quantize.recipes import DENSE, variant_grid
    from codesign.store import variant_label

    grid = variant_grid(methods, bits, group_size, seeds)
    if not dense:
        grid.remove(DENSE)
    return [variant_label(v.method, v.bits, v.seed) for v in grid]


def variants_from_args(
    args: argparse.Namespace, *, quantize: bool = True, spawn: bool = True
) -> tuple:
    """Quantize (or find cached) every variant the options name; returns store, device, rows.
    ``quantize`` False stops once the dense model is stored and the units are listed (a
    parent of ``--workers`` whose workers quantize); its rows are then empty. ``spawn`` False:
    a parent whose workers have finished quantizes any variant they left, here."""
    from codesign.measurements.quantize.models import resolve_model
    from codesign.store import Store

    grid, bits, calib, device = _checked_variants(args)
    check_cache_dir()
    store = Store(args.store)  # a bad or damaged store fails before the model is converted
    model = resolve_model(args.model, trust_remote_code=args.trust_remote_code)
    on_interrupt(
        "every variant finished is cached and stored; one cut short leaves nothing half-made "
        "(run the same command to resume)"
    )
    _quantize_in_units(
        args, store, model, grid, calib, device, bits, quantize=quantize, spawn=spawn
    )
    if not quantize:
        return store, device, []
    rows = _ensure_here(args, store, model, grid, calib, device, bits)
    console.print(f"calibration: {calib.describe()}")
    return store, device, rows


def _checked_variants(args: argparse.Namespace) -> tuple:
    """The variant grid, bits, calibration and device the options name, every one checked
    before any work (unsupported method/bits pairs, a short calibration source, a bad model)."""
    from codesign.measurements.quantize.backends import backend_for
    from codesign.measurements.quantize.calibration_text import check_enough_text
    from codesign.measurements.quantize.models import check_model
    from codesign.measurements.quantize.recipes import DENSE, variant_grid

    methods = distinct(parse_list(args.method, "method"), "--method")
    bits = distinct(parse_list(args.bits, "bits", int), "--bits")
    seeds = distinct(parse_list(args.seeds, "seeds", int), "--seeds")
    for seed in seeds:
        SEED.check(seed, "--seeds")
    for m in methods:
        for b in bits:
            backend_for(m, b, args.backend)  # refuse unsupported pairs before any work
    calib = CalibrationSpec(
        args.calibration, args.calib_samples, args.calib_seq_len, 0, args.text_field
    )
    check_enough_text(calib)  # an unreadable, empty or short source fails before any work
    device = check_device(args.device)
    check_model(args.model)  # cheap: no conversion, no download
    grid = variant_grid(methods, bits, args.group_size, seeds)
    if args.no_dense:
        grid.remove(DENSE)
    return grid, bits, calib, device


def _ensure_here(args, store, model, grid, calib, device: str, bits: list[int]) -> list:
    """Every variant of ``grid`` from the cache or quantized here, in a table as it goes."""
    from codesign.measurements.quantize.ensure import ensure_variant

    rows = []
    table = Table(title=f"variants of {model.name} — baseline: {model.baseline}")
    for col in ("variant", "backend", "group", "weights on disk (MB)", "status"):
        table.add_column(col)
    noted: set[str] = set()
    with progress_bar() as progress:
        task = progress.add_task("quantizing", total=len(grid))
        for spec in grid:
            progress.update(task, description=f"{spec.label} ({device})")
            result = ensure_variant(
                store,
                model,
                spec,
                calib,
                device=device,
                backend_name=args.backend,
                nest=(min(bits), max(bits)),
            )
            if result.note and result.note not in noted:  # once, not once per variant
                noted.add(result.note)
                progress.console.print(f"[yellow]note:[/yellow] {result.note}")
            row = result.row
            rows.append(row)
            status = "cached" if result.cached else f"quantized in {row.quantize_seconds:.0f} s"
            if row.method == "dense":
                status = "baseline"
            table.add_row(
                spec.label,
                f"{row.backend_version}",
                str(row.group_size or "–"),
                megabytes(row.weight_bytes_disk),
                status,
            )
            progress.advance(task)
    console.print(table)
    return rows


def quantize_job(fingerprint: str, specs: dict, calibration: str, args, device, bits) -> str:
    """The id of a quantize command's work. Every unit's recipe (method, bits, seed, group) is
    part of it: two commands that ask for other variants never share a job, so neither
    claims a unit it cannot run."""
    from codesign.jobs import queue

    return queue.job_id(
        "quantize",
        model=fingerprint,
        units=sorted(specs),
        recipes=sorted(repr(s) for s in specs.values()),
        calibration=calibration,
        group=args.group_size,
        backend=args.backend,
        device=device,
        nest=(min(bits), max(bits)),
    )


def _quantize_in_units(
    args, store, model, grid, calib, device, bits, *, quantize=True, spawn=True
) -> None:
    """Quantize the grid's variants as work units of the store (codesign.jobs.queue),
    the dense model first and here (every unit starts from it): with ``--workers N`` in N
    processes, otherwise in this one, and this process then waits for units other hosts
    hold. The grid loop after it finds every variant cached."""
    from codesign.jobs import queue, workers
    from codesign.measurements.quantize.ensure import ensure_variant
    from codesign.measurements.quantize.recipes import DENSE

    if DENSE in grid:
        ensure_variant(store, model, DENSE, calib, device=device)
    # units are claimed in this order: AWQ first, the longest on a CPU (a compute-bound grid
    # search, ~1.5x slower on one of two cores), so with --workers the run ends on GPTQ units,
    # whose single-threaded per-column loop runs as fast on one core as on two
    ordered = sorted((s for s in grid if s != DENSE), key=lambda s: s.method != "awq")
    specs = {spec.label: spec for spec in ordered}
    if not specs:
        return
    job = quantize_job(model.fingerprint, specs, calib.describe(), args, device, bits)
    queue.plan(store, "quantize", job, [(k, f"{model.name} {k}") for k in specs])
    if not quantize:  # evaluate's parent: its evaluate workers quantize
        return
    if args.workers > 1 and not args.worker and spawn:
        console.print(f"quantizing in {args.workers} worker processes (units in the store)")
        codes = workers.spawn_workers(args.workers, args.argv, gpus=workers.gpus_for(device))
        workers.check_workers(codes, "quantize", store, job)
        return

    def run(unit, completion) -> None:  # done once the variant is cached and stored
        start = time.perf_counter()
        result = ensure_variant(
            store,
            model,
            specs[unit.key],
            calib,
            device=device,
            backend_name=args.backend,
            nest=(min(bits), max(bits)),
        )
        state = "cached" if result.cached else "quantized"
        console.print(
            f"{unit.describe}: {state} in {time.perf_counter() - start:.0f} s "
            f"({queue.progress_line(store, job)})",
            highlight=False,
        )

    # quantize always waits: every later step (the grid loop, evaluate) needs each variant
    queue.work_through(store, job, run, known=specs, wait=True)
