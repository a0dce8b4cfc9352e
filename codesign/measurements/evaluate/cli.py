"""``python -m codesign.measurements evaluate``: run suites on variants, store every prediction."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from codesign.commandline.interrupts import on_interrupt
from codesign.commandline.output import console
from codesign.commandline.parsers import HelpFormatter, parse_list
from codesign.commandline.progress import progress_bar
from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import DATASETS
from codesign.measurements.evaluate.suites import SUITES, suite_order
from codesign.measurements.evaluate.templates import TEMPLATES, choose_template
from codesign.measurements.quantize.cli import add_quantize_options, variants_from_args
from codesign.store import redacted_url, variant_label
from codesign.validation import COUNT, SEED, TOKENS, Number, distinct


def _data_sets_help() -> str:
    """Each data set a registered suite reads, with the suites that read it."""
    readers: dict[str, list[str]] = {}
    for name in suite_order():
        for dataset in SUITES.get(name).datasets:
            readers.setdefault(dataset, []).append(name)
    return ", ".join(f"{d} ({', '.join(s)})" for d, s in readers.items())


def add_evaluate_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="run trust suites and MMLU on variants, storing every item's prediction",
        description="Quantizes what is missing (as `quantize` would), then runs each suite on "
        "each variant. Stored items are never run again: rerun the same command to resume.",
        formatter_class=HelpFormatter,
    )
    add_item_options(p)
    p.add_argument(
        "--timing",
        action="store_true",
        help="print where the time went per suite: tokenize, prefill, decode, parse, store",
    )
    p.add_argument(
        "--max-batch-tokens",
        type=Number(int, 1, 16_777_216),
        default=8192,
        help="padded prompt tokens per generation batch (default: 8192)",
    )
    add_engine_options(p)


def add_item_options(p: argparse.ArgumentParser) -> None:
    """The variants (as ``quantize`` names them) and the items of each suite: what evaluate,
    export and import share, so the same options always mean the same prompts."""
    add_quantize_options(p)
    p.add_argument(
        "--suites",
        default="all",
        help=f"comma list of suites, or all ({', '.join(SUITES)}) (default: all)",
    )
    p.add_argument(
        "--limit",
        type=item_limit,
        default=40,
        metavar="N|all",
        help="items per suite setting, a seeded stratified sample; even when the fairness "
        "suite runs on its offline data (half of each setting's items come from each sex); "
        "'all': every item, DecodingTrust's full counts when its data is given (default: 40)",
    )
    p.add_argument(
        "--suite-limit",
        action="append",
        default=[],
        metavar="SUITE=N|all",
        help="items per setting for one suite instead of --limit, e.g. mmlu_ll=300 (MMLU has "
        "one setting, so --limit 4 scores 4 questions) (repeatable)",
    )
    p.add_argument("--data-seed", type=SEED, default=0, help="seed of the item sample (default: 0)")
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="DATASET=PATH",
        help="use published data instead of the offline default, e.g. advglue=path/to/"
        "DecodingTrust/data/adv-glue-plus-plus, ethics=cm_test.csv, mmlu=path (repeatable; "
        f"data sets: {_data_sets_help()})",
    )
    p.add_argument(
        "--template",
        choices=TEMPLATES.names(),
        default=None,
        help="how chat prompts become text: comptrust (the conversation template comp-trust's "
        "DecodingTrust fork gives the model's family: llama-2, vicuna_v1.1, "
        "redpajama-incite-instruct; llama-2, the fork's default, for a family it does not "
        "name) or model (the model's own chat template); outputs name the one used "
        "(default: comptrust for LLaMA-2 and Vicuna models, model otherwise)",
    )
    p.add_argument(
        "--max-prompt-tokens",
        type=TOKENS,
        default=None,
        help="leave out every suite setting whose longest prompt exceeds this many tokens "
        "(fairness' 16- and 32-shot settings run 2,200-4,200-token prompts); outputs name "
        "the settings left out (default: run every setting)",
    )


def suites_from_args(args: argparse.Namespace) -> list:
    """The chosen suites, each bound to the prompt template `--template` picks for the model."""
    names = list(SUITES) if args.suites == "all" else parse_list(args.suites, "suites")
    template = choose_template(getattr(args, "template", None), args.model)
    return [SUITES.get(n).with_template(template, args.model) for n in distinct(names, "--suites")]


def items_from_args(args: argparse.Namespace) -> tuple[list, dict]:
    """The chosen suites and each one's items, every option checked before any work."""
    suites = suites_from_args(args)
    sources = _sources(args.data, suites)
    limits = suite_limits(getattr(args, "suite_limit", []), suites, args.limit)
    return suites, {s.name: s.load(limits[s.name], args.data_seed, sources) for s in suites}


ALL = "all"


def item_limit(text: str) -> int | None:
    """--limit's value: a count, or 'all' (None: no sampling, every item of every setting)."""
    if str(text).strip().lower() == ALL:
        return None
    try:
        return COUNT(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be {COUNT.describe()} or '{ALL}', got {text!r}"
        ) from None


def suite_limits(pairs: list[str], suites: list, limit: int | None) -> dict[str, int | None]:
    """Items per setting of each chosen suite: ``--limit``, or its ``--suite-limit``."""
    out = {s.name: limit for s in suites}
    seen: set[str] = set()
    for pair in pairs:
        name, sep, count = pair.partition("=")
        if not sep or not count:
            raise CodesignError(f"--suite-limit takes SUITE=N, got {pair!r}")
        if name not in out:
            chosen = ", ".join(out)
            raise CodesignError(f"--suite-limit {name}: not a chosen suite (--suites {chosen})")
        if name in seen:
            raise CodesignError(f"--suite-limit {name} given twice")
        seen.add(name)
        out[name] = None if count.strip().lower() == ALL else _count(name, count)
    return out


def _count(name: str, count: str) -> int:
    try:
        return int(COUNT.parse(count, f"--suite-limit {name}"))
    except CodesignError as exc:
        raise CodesignError(f"{exc} (or '{ALL}')") from None


def trim_long_settings(args, suites: list, data: dict, rows: list, *, quiet: bool) -> dict:
    """``data`` without the settings ``--max-prompt-tokens`` leaves out (by the first
    variant's tokenizer; every variant of a model shares it)."""
    if args.max_prompt_tokens is None or not rows:
        return data
    from codesign.measurements.quantize.backends.dense import load_tokenizer

    tokenizer = load_tokenizer(Path(rows[0].path))
    return {
        s.name: _without_long_settings(
            s, data[s.name], tokenizer, args.max_prompt_tokens, quiet=quiet
        )
        for s in suites
    }


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine`` and every registered engine's own options (one group per engine)."""
    from codesign.measurements.evaluate.engines import DEFAULT_ENGINE, ENGINES

    p.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        choices=ENGINES.names(),
        help="what runs the prompts: "
        + "; ".join(f"{n}: {ENGINES.get(n).help}" for n in ENGINES.names())
        + " (default: %(default)s)",
    )
    for name in ENGINES.names():
        ENGINES.get(name).add_arguments(p.add_argument_group(f"{name} engine"))


def _engine_defaults(name: str) -> dict:
    """Each option of engine ``name`` with its default (parsed from no arguments)."""
    from codesign.measurements.evaluate.engines import ENGINES

    probe = argparse.ArgumentParser(add_help=False)
    ENGINES.get(name).add_arguments(probe.add_argument_group(name))
    return vars(probe.parse_args([]))


def engine_from_args(args: argparse.Namespace, suites: list, labels: list[str] | None = None):
    """The chosen engine, its options checked (servers reached, models probed) before any
    work; options of another engine given are refused by name. ``labels``: the variants'
    (default: those the quantize options name)."""
    from codesign.measurements.evaluate.engines import ENGINES
    from codesign.measurements.quantize.cli import variant_labels

    refuse_other_engine_options(args)
    kind = ENGINES.get(args.engine)(args)
    kind.check_arguments(variant_labels(args) if labels is None else labels, suites)
    return kind


def refuse_other_engine_options(args: argparse.Namespace) -> None:
    """An option of an engine not chosen is an error, not silently ignored."""
    from codesign.measurements.evaluate.engines import ENGINES

    for name in ENGINES.names():
        if name == args.engine:
            continue
        for dest, default in _engine_defaults(name).items():
            if getattr(args, dest, default) != default:
                flag = "--" + dest.replace("_", "-")
                raise CodesignError(f"{flag} is an option of --engine {name}")


def engine_argv(args: argparse.Namespace) -> list[str]:
    """The chosen engine's options that differ from their defaults, as flags (the search
    hands them on to the evaluate it runs)."""
    from codesign.measurements.evaluate.engines import DEFAULT_ENGINE

    out = [] if args.engine == DEFAULT_ENGINE else ["--engine", args.engine]
    for dest, default in _engine_defaults(args.engine).items():
        value, flag = getattr(args, dest), "--" + dest.replace("_", "-")
        if value == default:
            continue
        if value is True:
            out.append(flag)
        else:
            for one in value if isinstance(value, list) else [value]:
                out += [flag, str(one)]
    return out


def _sources(pairs: list[str], suites: list) -> dict[str, str]:
    """``--data`` pairs by data set; refuses a name no chosen suite reads (it would be
    silently ignored) and a path that does not exist."""
    read = {d for s in suites for d in s.datasets}
    out = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not path:
            raise CodesignError(f"--data takes DATASET=PATH, got {pair!r}")
        if name not in DATASETS:
            raise CodesignError(f"--data: unknown data set {name!r} (known: {_data_sets_help()})")
        if name not in read:
            chosen = ", ".join(s.name for s in suites)
            raise CodesignError(
                f"--data {name}: no chosen suite reads it (--suites {chosen}; {name} is read by "
                f"{', '.join(s for s in SUITES if name in SUITES.get(s).datasets)})"
            )
        if not Path(path).expanduser().exists():
            raise CodesignError(f"--data {name}: {path} does not exist")
        out[name] = path
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from codesign.jobs import workers

    suites, data = items_from_args(args)
    engine = engine_from_args(args, suites)
    parent = args.workers > 1 and not args.worker
    store, device, rows = variants_from_args(args, quantize=not parent)
    codes: list[int] = []
    if parent:  # its workers quantize what is missing, then evaluate; this one sums up
        on_interrupt(
            lambda: (
                f"{store.counts()['predictions']} predictions are stored in {args.store} and "
                "every variant finished is cached; run the same command to resume (stored "
                "items are not run again)"
            )
        )
        console.print(f"evaluating in {args.workers} worker processes (units in the store)")
        codes = workers.spawn_workers(args.workers, args.argv, gpus=workers.gpus_for(device))
        if 2 in codes:  # bad input: said by the worker; nothing to sum up
            workers.check_workers(codes, "evaluate", store, None)
        store, device, rows = variants_from_args(args, spawn=False)  # what workers left
    data = trim_long_settings(args, suites, data, rows, quiet=parent)
    on_interrupt(
        lambda: (
            f"{store.counts()['predictions']} predictions are stored in {args.store}; run "
            "the same command to resume (stored items are not run again)"
        )
    )
    from codesign.measurements.evaluate.runner import VariantRunner

    runners = {v.key: VariantRunner(store, v, engine.bind(v, device)) for v in rows}
    plan = _plan_units(args, store, device, runners, suites, data, engine.job_fields())
    if parent:
        workers.check_workers(codes, "evaluate", store, plan.job)
    else:
        _evaluate_units(args, store, device, runners, plan)
    if engine.runs_locally:  # a worker measures the variants it ran; a parent any left
        _measure_logits_error(
            store, runners, [r for r in runners.values() if r.engine.used or parent]
        )
    if args.worker:
        return 0  # the parent prints the summary once
    _stored_summary(store, rows, suites, data, args.store)
    for r in runners.values():  # how each variant ran here: real kernels, float32, a server
        if r.runtime:
            label = variant_label(r.variant.method, r.variant.bits, r.variant.seed)
            console.print(f"{label} ran as: {r.runtime}", highlight=False)
    templates = sorted({f"{s.name}: {s.template_label()}" for s in suites})
    console.print(f"prompt template: {'; '.join(templates)}", highlight=False)
    return 0


# Items per evaluate work unit at most: a unit is a shard of one suite's items (in the data's
# order, so a setting's items stay together) on one variant: small enough that many hosts
# share a large run evenly. Not one unit per setting: a generation call per setting decodes
# a few rows at a time, and decoding costs per step, not per row (at --limit 2 per setting
# units took 75 s per variant where one call per suite took about half of that).
SHARD_ITEMS = 64


def _parts(data) -> dict[str, object]:
    """The suite's data split into work-unit parts of at most SHARD_ITEMS items."""
    from dataclasses import replace

    items = list(data.items)
    return {
        f"shard{n}": replace(data, items=items[i : i + SHARD_ITEMS])
        for n, i in enumerate(range(0, len(items), SHARD_ITEMS))
    }


@dataclass(frozen=True)
class UnitPlan:
    """An evaluate command's work units in the store: its job, every (variant, suite, shard)
    with its items, and how many items are still to run."""

    job: str
    parts: dict[str, dict[str, object]]  # suite -> shard name -> the shard's data
    suites: dict[str, object]
    keys: frozenset[str]
    total: int  # items not stored yet
    stored: int


def _plan_units(
    args, store, device, runners: dict, suites: list, data: dict, engine: dict
) -> UnitPlan:
    """Every (variant, suite, shard of items) as a work unit of the store; units whose items
    are not all stored (a worker died after they were marked done elsewhere) reopen. The job's
    id covers every option that shapes results and every unit's items (prompt protocol
    included), so two commands that differ never share units."""
    from codesign.jobs import queue

    parts = {s.name: _parts(data[s.name]) for s in suites}
    units, reopen, total = [], set(), 0
    items = {}
    for k, r in runners.items():
        label = variant_label(r.variant.method, r.variant.bits, r.variant.seed)
        done = {s.name: store.predicted_item_ids(r.variant.id, s.name) for s in suites}
        for s in suites:
            for part, pdata in parts[s.name].items():
                key = f"{k}|{s.name}|{part}"
                units.append((key, f"{label} {s.name} {part}"))
                keys = [s.stored_key(it) for it in pdata.items]
                items[f"{s.name}|{part}"] = keys
                left = sum(key_ not in done[s.name] for key_ in keys)
                total += left
                if left:
                    reopen.add(key)
    job = queue.job_id(
        "evaluate",
        variants=sorted(runners),
        suites=sorted(s.name for s in suites),
        protocols={s.name: s.protocol for s in suites},
        templates={s.name: s.template_label() for s in suites},
        items=hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest(),
        limit=args.limit,
        data_seed=args.data_seed,
        data=sorted(args.data),
        max_prompt_tokens=args.max_prompt_tokens,
        device=device,
        **engine,
    )
    queue.plan(store, "evaluate", job, units, reopen=reopen)
    stored = sum(len(d.items) for d in data.values()) * len(runners) - total
    keys = frozenset(k for k, _ in units)
    return UnitPlan(job, parts, {s.name: s for s in suites}, keys, total, stored)


def _evaluate_units(args, store, device, runners: dict, plan: UnitPlan) -> None:
    """Run the plan's units here until none is left (with ``--workers``, several processes do
    this side by side, on one host or many; a worker, or ``--wait``, also waits for units other
    hosts hold and retakes those whose lease runs out). A worker keeps to the variant it has
    loaded while that variant has units left."""
    import time

    from codesign.jobs import queue
    from codesign.measurements.evaluate.runner import SuiteTiming

    share = -(-plan.total // max(1, args.workers))
    mine = f"; this worker takes units until none is left (~{share} items)" if args.worker else ""
    console.print(
        f"evaluating {plan.total} items on {len(runners)} variants ({device}) in "
        f"{len(plan.keys)} work units; {plan.stored} already stored{mine}"
    )
    timing = {name: SuiteTiming() for name in plan.suites}
    wall = dict.fromkeys(timing, 0.0)
    current: list[str] = []
    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=share)

        def run(unit, completion) -> None:
            key, suite_name, part = unit.key.split("|")
            current[:] = [key]
            r, s = runners[key], plan.suites[suite_name]
            progress.update(task, description=unit.describe)
            start = time.perf_counter()
            r.run(
                s,
                plan.parts[suite_name][part],
                advance=lambda n: progress.advance(task, n),
                max_batch_tokens=args.max_batch_tokens,
                timing=timing[s.name],
                complete=completion,  # the unit is done in the transaction of its last batch
            )
            wall[s.name] += time.perf_counter() - start

        queue.work_through(
            store,
            plan.job,
            run,
            prefer=lambda: f"{current[0]}|" if current else None,
            known=plan.keys,
            wait=args.wait or args.worker,
        )
    if (left := queue.leftover_line(store, plan.job)) is not None:
        console.print(left, highlight=False)
    if args.timing:
        _print_timing(timing, wall)


def _without_long_settings(suite, data, tokenizer, max_tokens: int, *, quiet: bool = False):
    """The suite's data without the settings whose longest prompt (as this tokenizer encodes
    it) exceeds ``max_tokens``; the settings left out are named in its provenance."""
    from dataclasses import replace

    from codesign.measurements.evaluate.runner import encode_prompts

    if suite.kind == "loglik" or not data.items:
        return data
    lengths = [len(ids) for ids in encode_prompts(tokenizer, suite, data.items)]
    longest: dict[str, int] = {}
    for it, n in zip(data.items, lengths, strict=True):
        longest[it.setting] = max(longest.get(it.setting, 0), n)
    dropped = [k for k, n in longest.items() if n > max_tokens]
    if not dropped:
        return data
    shots = data.shots_per_setting()
    note = (
        f"settings not run: {', '.join(dropped)} (prompts up to "
        f"{max(longest[k] for k in dropped):,} tokens, over --max-prompt-tokens {max_tokens})"
    )
    if not quiet:
        console.print(f"{suite.name}: {note}", highlight=False)
    return replace(
        data,
        items=[it for it in data.items if it.setting not in dropped],
        shots={k: v for k, v in shots.items() if k not in dropped},
        notes=(*data.notes, note),
    )


def _print_timing(timing: dict, wall: dict[str, float]) -> None:
    """Per suite: seconds in each step, the rest (model loading, float32 read-back of kernels,
    bookkeeping), and items/s over the suite's wall time."""
    table = Table(title="where the evaluation time went (seconds, all variants)")
    for col in ("suite", "items", "tokenize", "prefill", "decode", "parse", "store", "other"):
        table.add_column(col, justify="left" if col == "suite" else "right")
    table.add_column("items/s", justify="right")
    for name, t in timing.items():
        if not t.items:
            continue
        other = max(wall[name] - t.total, 0.0)
        steps = (t.tokenize, t.prefill, t.decode, t.parse, t.store, other)
        rate = t.items / wall[name] if wall[name] else math.nan
        table.add_row(name, str(t.items), *(f"{v:.1f}" for v in steps), f"{rate:.2f}")
    console.print(table)


def _stored_summary(store, rows, suites, data, url: str) -> None:
    """What this command stored and how to read it: each suite's data and outputs per variant,
    and the command that scores them (scoring is the next stage's job: any profile re-parses
    the stored raw outputs without a model run)."""
    stored = store.prediction_counts([v.id for v in rows])
    for suite in suites:
        counts = [stored.get((v.id, suite.name), 0) for v in rows] or [0]
        console.print(
            f"{suite.name}: {data[suite.name].provenance()}; {min(counts)}–{max(counts)} stored "
            f"outputs per variant ({len(rows)} variants)",
            highlight=False,
        )
    console.print(
        f"scores per variant: python -m codesign.scoring --store {redacted_url(url)} "
        "[--scoring PROFILE]; figures: python -m codesign.report",
        highlight=False,
    )


def _measure_logits_error(store, runners: dict, measure: list) -> None:
    """Each quantized variant of ``measure``'s relative logits error against the dense model
    (quality.py), measured once per variant (stored; skipped when the dense model is not
    among ``runners``)."""
    from codesign.measurements import quality

    dense = next((r for r in runners.values() if r.variant.method == "dense"), None)
    done = store.variant_metrics(quality.LOGITS_ERROR)
    todo = [r for r in measure if r.variant.method != "dense" and r.variant.key not in done]
    if dense is None or not todo:
        return
    ids = quality.probe_ids(dense.engine.loaded.tokenizer)
    reference = quality.logits(dense.engine.loaded.model, ids)
    for r in todo:
        error = quality.relative_error(reference, quality.logits(r.engine.loaded.model, ids))
        detail = quality.describe(r.runtime) | {"dense_runtime": dense.runtime}
        store.put_variant_metric(r.variant.id, quality.LOGITS_ERROR, error, detail)
        label = variant_label(r.variant.method, r.variant.bits, r.variant.seed)
        console.print(f"{label}: relative logits error vs dense {error:.4f} (measured)")
