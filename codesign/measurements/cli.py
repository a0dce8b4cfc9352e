"""``python -m codesign.measurements``: the measuring commands (quantize, evaluate, profile, list)
as subcommands of one parser; quantize and evaluate keep their own modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.table import Table

from codesign.commandline.interrupts import on_interrupt, run_cli
from codesign.commandline.output import console, megabytes, print_json
from codesign.commandline.parsers import HelpFormatter, add_store_option, make_parser, parse_list
from codesign.commandline.progress import progress_bar
from codesign.errors import CodesignError
from codesign.launch import quiet_libraries
from codesign.measurements.evaluate.batch import add_batch_parsers, cmd_export, cmd_import
from codesign.measurements.evaluate.cli import add_evaluate_parser, cmd_evaluate
from codesign.measurements.quantize.cli import (
    add_model_option,
    add_quantize_options,
    add_worker_options,
    check_device,
    cmd_quantize,
)
from codesign.store import redacted_url, variant_label
from codesign.validation import BATCH, COUNT, TOKENS, WORKERS, Number

DESCRIPTION = """\
Measure quantized variants of a model and keep every measurement in one store.

  quantize   make GPTQ/AWQ variants (cached: a variant is never quantized twice)
  profile    latency and memory of every stored variant under a standard workload
  list       what the store holds, with provenance
  evaluate   run trust suites and MMLU, storing every item's prediction
  export     evaluate's prompts as OpenAI batch files (vllm run-batch, the Batch API)
  import     store the answers of those batch files
  status     work units of quantize/evaluate/profile across workers and hosts

Example (the embedded default model, on this machine's CPU):
  python -m codesign.measurements quantize --model smollm2-135m --method gptq,awq --bits 3,4,8
  python -m codesign.measurements profile
  python -m codesign.measurements list
"""


FORMATTER = HelpFormatter


def _build_parser() -> argparse.ArgumentParser:
    parser = make_parser("measurements", DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    q = sub.add_parser(
        "quantize", help="make quantized variants of a model", formatter_class=FORMATTER
    )
    add_quantize_options(q)

    pr = sub.add_parser(
        "profile", help="latency and memory of stored variants", formatter_class=FORMATTER
    )
    add_store_option(pr)
    add_model_option(pr, None)
    pr.add_argument("--prompt-len", type=TOKENS, default=128, help="prefill tokens (default: 128)")
    pr.add_argument("--decode-tokens", type=TOKENS, default=32, help="decoded tokens (default: 32)")
    pr.add_argument("--batch-sizes", default="1,8", help="comma list (default: %(default)s)")
    pr.add_argument("--repeats", type=COUNT, default=5, help="timed repeats (default: 5)")
    pr.add_argument(
        "--warmup",
        type=Number(int, 0, 1_000),
        default=1,
        help="untimed warm-up runs, each a 16-token prefill and 2 decode steps (default: 1)",
    )
    pr.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    pr.add_argument(
        "--workers",
        type=WORKERS,
        default=1,
        help="processes, one per GPU (CPU profiles run one at a time: they would time each "
        "other); the same command on another host with the same store joins in (default: 1)",
    )
    add_worker_options(pr)

    ls = sub.add_parser(
        "list", help="what the store holds, with provenance", formatter_class=FORMATTER
    )
    add_store_option(ls)
    ls.add_argument("--json", action="store_true", help="print the variants as JSON")

    st = sub.add_parser(
        "status",
        help="work units of quantize/evaluate/profile runs: done, running (where, lease age), "
        "pending",
        formatter_class=FORMATTER,
    )
    add_store_option(st)
    st.add_argument("--json", action="store_true", help="print the units as JSON")

    add_evaluate_parser(sub)
    add_batch_parsers(sub)
    return parser


def cmd_status(args: argparse.Namespace) -> int:
    """Where the work of every measuring command on this store stands, across hosts."""
    from codesign.jobs import queue
    from codesign.store import Store

    store = Store.if_present(args.store)  # read-only: never leaves a store behind
    jobs = queue.job_summaries(store) if store is not None else []
    if args.json:
        print_json({"store": redacted_url(args.store), "jobs": jobs})
        return 0
    if not jobs:
        console.print(
            f"no work units in {redacted_url(args.store)}: no quantize/evaluate/profile has run "
            "on it yet"
        )
        return 0
    for job in jobs:
        console.print(f"[bold]{job['kind']}[/bold] {job['job']}: {job['progress']}")
        if not job["open"]:
            continue
        table = Table()
        for col in ("unit", "state", "worker", "claimed s ago", "lease", "tries"):
            table.add_column(col)
        for u in job["open"]:
            table.add_row(
                u["describe"] or u["key"],
                u["state"],
                u["owner"] or "–",
                "–" if u["claimed_s_ago"] is None else f"{u['claimed_s_ago']:.0f}",
                _lease_text(u),
                str(u["attempts"]),
            )
        console.print(table)
    return 0


def _lease_text(unit: dict) -> str:
    if unit["expired_s_ago"] is not None:
        return f"ran out {unit['expired_s_ago']:.0f} s ago (retaken by the next claim)"
    if unit["lease_left_s"] is not None:
        return f"{unit['lease_left_s']:.0f} s left"
    return "–"


def cmd_profile(args: argparse.Namespace) -> int:
    """Profile every stored variant not yet profiled on this device, one work unit per
    (variant, batch size): several hosts (or the GPUs of one, ``--workers``) share the list."""
    from codesign.jobs import queue, workers
    from codesign.measurements.profiling import device_name

    batches, device, parent = _profile_checks(args)
    store, variants = _profiled_variants(args)
    where = device_name(device)
    pairs, todo, job = _plan_profiles(args, store, variants, batches, where)
    on_interrupt(
        lambda: (
            f"{len(store.profiles())} profiles are stored in {args.store}; run the same "
            "command to profile the rest"
        )
    )
    console.print(
        f"profiling {len(todo)} (variant, batch) pairs on {where}; "
        f"{len(pairs) - len(todo)} already stored"
    )
    if parent:
        gpus = workers.gpus_for(device)
        console.print(f"profiling in {args.workers} worker processes, one GPU each ({gpus})")
        codes = workers.spawn_workers(args.workers, args.argv, gpus=gpus)
        workers.check_workers(codes, "profile", store, job)
        return cmd_list(args)
    _profile_here(args, store, job, pairs, len(todo), device, where)
    if (left := queue.leftover_line(store, job)) is not None:
        console.print(left, highlight=False)
    if args.worker:
        return 0
    return cmd_list(args)


def _profile_checks(args: argparse.Namespace) -> tuple[list[int], str, bool]:
    """Batch sizes, device and whether this process spawns workers, checked before any work."""
    batches = parse_list(args.batch_sizes, "batch sizes", int)
    for batch in batches:
        BATCH.check(batch, "--batch-sizes")
    device = check_device(args.device)
    parent = args.workers > 1 and not args.worker
    if parent and not device.startswith("cuda"):
        raise CodesignError(
            "--workers N profiles on N GPUs; on a CPU two profiles would time each other: "
            "run one here, or the same command on other hosts"
        )
    return batches, device, parent


def _profiled_variants(args: argparse.Namespace) -> tuple:
    """The store (never created: profiles need stored variants) and the variants to profile."""
    from codesign.store import Store

    store = Store(args.store, create=False)
    model_name = None
    if args.model:
        from codesign.measurements.quantize.models import check_model, resolve_model

        check_model(args.model)
        model_name = resolve_model(args.model).name
    variants = store.variants(model_name)
    if not variants:
        raise CodesignError("the store holds no variants yet: run `quantize` first")
    return store, variants


def _plan_profiles(args, store, variants, batches: list[int], where: str) -> tuple:
    """One work unit per (variant, batch size) in the store's job queue; the ones this device
    has not profiled yet reopened."""
    from codesign.jobs import queue
    from codesign.measurements.profiling import ProfileWorkload

    pairs, todo = {}, set()
    for v, m in variants:
        for b in batches:
            w = ProfileWorkload(args.prompt_len, args.decode_tokens, b, args.warmup, args.repeats)
            key = f"{v.key}|b{b}"
            pairs[key] = (v, m, w)
            if not store.has_profile(v.id, w.key, where):
                todo.add(key)
    workload = (args.prompt_len, args.decode_tokens, batches, args.warmup, args.repeats)
    job = queue.job_id("profile", variants=sorted(pairs), workload=workload, device=where)
    units = [
        (k, f"{m.name} {variant_label(v.method, v.bits, v.seed)} batch {w.batch_size}")
        for k, (v, m, w) in pairs.items()
    ]
    queue.plan(store, "profile", job, units, reopen=todo)
    return pairs, todo, job


def _profile_here(args, store, job, pairs: dict, todo: int, device: str, where: str) -> None:
    """Claims and runs work units in this process until the job has none left."""
    from codesign.jobs import queue
    from codesign.measurements.profiling import profile_variant

    with progress_bar() as progress:
        task = progress.add_task("profiling", total=todo)

        def run(unit, completion) -> None:  # done once its profile is stored
            v, _, w = pairs[unit.key]
            if store.has_profile(v.id, w.key, where):  # stored by an earlier run or a lost lease
                return  # not counted: the progress total is the profiles left to run
            progress.update(task, description=unit.describe)
            result = profile_variant(v.backend, v.path, device, w)
            if result["device"] != where:
                raise CodesignError(f"profile ran on {result['device']}, expected {where}")
            store.add_profile(
                variant_id=v.id,
                workload=w.key,
                prompt_len=w.prompt_len,
                decode_tokens=w.decode_tokens,
                batch_size=w.batch_size,
                repeats=w.repeats,
                synthetic_weights=False,
                also=completion,
                **result,
            )
            progress.advance(task)

        queue.work_through(store, job, run, known=pairs, wait=args.wait or args.worker)


LIST_COLUMNS = (
    "model",
    "variant",
    "backend",
    "calibration",
    "disk MB",
    "batch",
    "decode ms/tok",
    "tok/s",
    "prefill ms",
    "peak MB",
    "kernel",
)


def cmd_list(args: argparse.Namespace) -> int:
    from codesign.store import Store

    store = Store(args.store, read_only=True)
    variants = store.variants()
    if getattr(args, "json", False):
        print_json(_list_records(store, variants))
        return 0
    if not variants:
        console.print(f"the store {args.store} holds no variants")
        return 0
    profiles: dict[int, list] = {}
    for p, v, _ in store.profiles():
        profiles.setdefault(v.id, []).append(p)
    table = Table(title=f"variants in {args.store}", show_lines=False)
    for col in LIST_COLUMNS:
        table.add_column(col, overflow="fold")
    devices, baselines = set(), set()
    for v, m in variants:
        baselines.add(f"{m.name}: {m.baseline} — {m.source}")
        rows = sorted(profiles.get(v.id, []), key=lambda p: (p.device, p.batch_size)) or [None]
        devices |= {p.device for p in rows if p is not None}
        for cells in _list_rows(v, m, rows):
            table.add_row(*cells)
    console.print(table)
    for b in sorted(baselines):
        console.print(f"model {b}")
    for d in sorted(devices):
        console.print(f"measured on {d}; decode ms/tok is median ± IQR over steps and repeats")
    counts = store.counts()
    console.print(", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


def _list_rows(v, m, profiles: list) -> list[list[str]]:
    """A variant's table rows: its recipe once, then one row per profile (or a dash)."""
    label = "dense" if v.method == "dense" else f"{v.method}-w{v.bits}-g{v.group_size or 'ch'}"
    if v.seed:
        label += f"-s{v.seed}"
    out = []
    for i, p in enumerate(profiles):
        first = i == 0
        cells = [
            m.name if first else "",
            label if first else "",
            v.backend_version if first else "",
            v.calibration if first else "",
            megabytes(v.weight_bytes_disk) if first else "",
        ]
        if p is None:
            cells += ["–"] * 6
        else:
            kind = "real low-bit" if p.real_low_bit else "dequantized/float"
            cells += [
                str(p.batch_size),
                f"{p.decode_ms_per_token:.1f} ± {p.decode_ms_per_token_iqr:.1f}",
                f"{p.tokens_per_s:.1f}",
                f"{p.prefill_ms:.0f}",
                megabytes(p.peak_memory_bytes),
                f"{kind}: {p.kernel}" + (" (synthetic weights)" if p.synthetic_weights else ""),
            ]
        out.append(cells)
    return out


def _list_records(store, variants) -> dict:
    """``list --json``: every variant with its provenance and measured profiles."""
    profiles: dict[int, list] = {}
    for p, v, _ in store.profiles():
        profiles.setdefault(v.id, []).append(
            {
                "device": p.device,
                "batch_size": p.batch_size,
                "decode_ms_per_token": p.decode_ms_per_token,
                "decode_ms_per_token_iqr": p.decode_ms_per_token_iqr,
                "tokens_per_s": p.tokens_per_s,
                "prefill_ms": p.prefill_ms,
                "peak_memory_bytes": p.peak_memory_bytes,
                "kernel": p.kernel,
                "real_low_bit": p.real_low_bit,
                "origin": "measured" + (" (synthetic weights)" if p.synthetic_weights else ""),
            }
        )
    rows = [
        {
            "model": m.name,
            "baseline": m.baseline,
            "variant": variant_label(v.method, v.bits, v.seed),
            "method": v.method,
            "bits": v.bits,
            "group_size": v.group_size,
            "seed": v.seed,
            "backend": v.backend_version,
            "calibration": v.calibration,
            "weight_bytes_disk": v.weight_bytes_disk,
            "quantize_seconds": v.quantize_seconds,
            "key": v.key,
            "profiles": profiles.get(v.id, []),
        }
        for v, m in variants
    ]
    return {"store": redacted_url(store.url), "counts": store.counts(), "variants": rows}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what --workers N starts again
    quiet_libraries()  # again: main() is also called without the launcher (tests, search)
    commands = {
        "quantize": cmd_quantize,
        "profile": cmd_profile,
        "list": cmd_list,
        "evaluate": cmd_evaluate,
        "export": cmd_export,
        "import": cmd_import,
        "status": cmd_status,
    }
    return commands[args.command](args)


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
