"""``python -m codesign.search``: constrained multi-objective search for Pareto-optimal deployments.

Reads trust (stored predictions, voted once for every reachable ensemble) and costs (the
simulators) into one Optuna study on the store's URL, then writes the Pareto set: pareto.json,
pareto.csv, one deploy-<n>.yaml per configuration, PNG fronts and a table.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import optuna

from codesign.commandline.interrupts import on_interrupt, run_cli
from codesign.commandline.output import console, err_console, print_json, stdout_for_json
from codesign.commandline.parsers import add_store_option, make_parser
from codesign.commandline.progress import progress_bar
from codesign.errors import CodesignError, Infeasible
from codesign.measurements.evaluate.cli import (
    add_engine_options,
    engine_argv,
    engine_from_args,
    refuse_other_engine_options,
)
from codesign.measurements.quantize.models import DEFAULT_MODEL
from codesign.paths import writable_folder
from codesign.scoring.profiles import DEFAULT_PROFILE, PROFILES
from codesign.search import exact
from codesign.search.context import (
    AREA_NODE_NM,
    EACH_SCOPE,
    SearchContext,
    Settings,
    build_context,
    check_settings,
    footprint_floor,
    smallest_footprint,
)
from codesign.search.objective import or_default
from codesign.search.pareto import constraint_values, feasible, pareto_trials
from codesign.search.space import options
from codesign.search.study import (
    DEFAULT_SAMPLER,
    DEFAULT_TRIALS,
    MAX_EXHAUSTIVE,
    RUN_ATTR,
    SAMPLERS,
    SIGNATURE_ATTR,
    completed,
    exhaustive_configs,
    fail_stale,
    finished,
    make_sampler,
    open_storage,
    open_study,
    plan_exhaustive,
    redacted,
    run_study,
)
from codesign.simulators.workload import model_presets
from codesign.store import Store, check_store_url, sqlite_file
from codesign.validation import (
    BATCH,
    COUNT,
    FRACTION,
    GIGABYTES,
    SEED,
    TOKENS,
    WORKERS,
    Number,
)

DEFAULT_MMLU_TOLERANCE = 5.0
# At most half of the trust items unanswered (mean over the perspectives): beyond it trust is
# mostly a measure of what was refused (docs/search.md, "Refusals cannot win").
DEFAULT_MAX_REFUSAL = 0.5
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,119}")


def study_name(text: str) -> str:
    """A study name that is also a folder name under results/: no path, no traversal."""
    if not STUDY_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be 1-120 letters, digits or . _ + - (starting with a letter or digit), "
            f"got {text[:60]!r}"
        )
    return text


DESCRIPTION = """\
Search precision ensembles × vote rule × schedule × compute unit for the Pareto-optimal
deployments: trust (maximize; measured, by voting over stored predictions) against latency,
energy and area (minimize; modelled), with memory ≤ --budget-gb and MMLU ≥ a floor.

  python -m codesign.search --budget-gb 24
  python -m codesign.search --budget-gb 24 --deploy-shape qwen2.5-7b --sampler nsga2 --study nsga2
  python -m codesign.search --budget-gb 24 --store postgresql+psycopg://user@host/db --workers 8

If the store lacks the predictions the search needs, the embedded default model is measured
first (slow on a CPU; stored, never repeated). Rerunning the same command resumes the study;
the same command on another machine (PostgreSQL store) joins it.
"""


MEASURED = "measured"  # --deploy-shape: the measured model's own shape
DEMO_DEPLOY_SHAPE = "llama-2-13b"  # the seed paper's deployment: what the demo model stands for


def deploy_shape(given: str | None, model: str) -> tuple[str | None, str]:
    """The cost shape and why: as given; the measured model's own for 'measured'; for the
    embedded demo model by default the paper's deployment shape (a 135M model needs 0.1-0.5 GB,
    so a memory budget would never bind); else the measured model's own."""
    if given == MEASURED:
        return None, f"{model}'s own shape (--deploy-shape measured)"
    if given:
        return given, f"--deploy-shape {given}"
    if model == DEFAULT_MODEL:
        return DEMO_DEPLOY_SHAPE, (
            f"{DEMO_DEPLOY_SHAPE}: the default for the embedded demo model {model}, standing in "
            "for the seed paper's deployment (--deploy-shape measured models its own shape)"
        )
    return None, f"{model}'s own shape"


class NoFeasibleConfiguration(Infeasible):
    """The search ran (or could tell beforehand), and no configuration met the constraints."""


def _csv(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("search", DESCRIPTION)
    add_store_option(p)
    _target_options(p.add_argument_group("target and constraints"))
    _scoring_option(p.add_argument_group("scoring"))
    _space_options(p.add_argument_group("search space"))
    _run_options(p.add_argument_group("optimisation, measurements and output"))
    add_engine_options(p)  # how the embedded default is evaluated, should it be measured
    return p


def _target_options(g) -> None:
    g.add_argument(
        "--model",
        help="measured model in the store (default: the only one, or the embedded default "
        "smollm2-135m)",
    )
    g.add_argument(
        "--deploy-shape",
        metavar="SHAPE",
        help="model costs for this shape instead of the measured model's: a preset "
        f"({', '.join(model_presets())}), a config.json, or 'measured' for the measured "
        "model's own "
        "(trust stays the measured model's; every output says so). Default: llama-2-13b when "
        "the measured model is the embedded demo model (the seed paper's deployment, 26 GB at "
        "16 bits, where a 24 GB budget decides), else the measured model's own shape",
    )
    g.add_argument(
        "--budget-gb",
        type=GIGABYTES,
        default=24.0,
        help="memory budget of the deployment, weights + KV cache (default: 24)",
    )
    _quality_constraints(g)
    _area_options(g)
    g.add_argument(
        "--prompt-tokens",
        type=TOKENS,
        default=256,
        help="prefill tokens per request (default: 256)",
    )
    g.add_argument("--new-tokens", type=TOKENS, default=8, help="decoded tokens (default: 8)")
    g.add_argument("--batch", type=BATCH, default=1, help="sequences per batch (default: 1)")


def _quality_constraints(g) -> None:
    """The floors a configuration must meet: MMLU and the share of trust items answered."""
    g.add_argument(
        "--mmlu-tolerance",
        type=Number(float, 0, 100),
        help="MMLU floor = the dense model's MMLU (log-likelihood) minus this many points "
        f"(default: {DEFAULT_MMLU_TOLERANCE:g}; not with --mmlu-floor)",
    )
    g.add_argument(
        "--mmlu-floor",
        type=Number(float, 0, 100),
        help="absolute MMLU floor instead (not with --mmlu-tolerance)",
    )
    g.add_argument(
        "--max-refusal",
        type=FRACTION,
        default=DEFAULT_MAX_REFUSAL,
        metavar="RATE",
        help="highest share of the trust items a configuration may leave unanswered (refused "
        "or unparseable; the mean over the four perspectives, as trust is): a configuration "
        "that mostly refuses would otherwise win (comp-trust's fairness rule gives a setting "
        "with fewer than 3 answers its best score); 1 turns the bound off "
        f"(default: {DEFAULT_MAX_REFUSAL:g})",
    )


def _area_options(g) -> None:
    """How area is bounded and compared: a limit, a common node, like scopes only."""
    g.add_argument(
        "--max-area-mm2",
        type=Number(float, 0, 1e6, above=True),
        help="optional unit area limit (mm²)",
    )
    g.add_argument(
        "--area-node",
        type=_area_node,
        default=AREA_NODE_NM,
        metavar="NM|native",
        help="every unit's area scaled to this process node before it is compared (area ∝ "
        "node², the DRAM PHY kept: simulators' normalise rule), or 'native' for each unit's "
        f"own node (default: {AREA_NODE_NM:g}, the bundled accelerators' node)",
    )
    g.add_argument(
        "--area-scope",
        choices=(EACH_SCOPE, "array", "die"),
        default=EACH_SCOPE,
        help="each: area ranks two configurations only when their units' areas cover the same "
        "scope (a whole GPU die is never weighed against an accelerator's array + SRAM + DRAM "
        "PHY); array or die: search only the units of that scope (default: each)",
    )


AREA_NODE = Number(float, 1, 1000)


def _area_node(text: str) -> float | None:
    """--area-node: a node in nm, or 'native' (None: each unit at its own node)."""
    if str(text).strip().lower() == "native":
        return None
    try:
        return AREA_NODE(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be a node in nm from 1 to 1,000, or 'native', got {text!r}"
        ) from None


def _scoring_option(g) -> None:
    g.add_argument(
        "--scoring",
        default=DEFAULT_PROFILE,
        choices=PROFILES.names(),
        help="scoring profile that parses the stored outputs and scores them: comptrust (the "
        "paper's configuration), decodingtrust (upstream) or strict (default: %(default)s)",
    )


def _space_options(g) -> None:
    """Each registered parameter group's options, as the group declares them."""
    for opt in options():
        if opt.single:
            g.add_argument(opt.flag, dest=opt.name, choices=opt.known(), help=opt.help)
        else:
            g.add_argument(opt.flag, dest=opt.name, type=_csv, help=opt.help)


def _run_options(g) -> None:
    g.add_argument(
        "--sampler",
        default=None,
        choices=SAMPLERS.names(),
        help=f"Optuna multi-objective sampler (default: none for a space whose exact enumeration "
        f"is estimated at most {exact.EXACT_LIMIT_S:.0f} s: its exact front; {DEFAULT_SAMPLER} "
        "for a larger one)",
    )
    g.add_argument(
        "--n-trials",
        type=COUNT,
        default=None,
        help=f"trials the study should hold when sampling; a rerun continues to it (default: "
        f"{DEFAULT_TRIALS})",
    )
    g.add_argument("--seed", type=SEED, default=0, help="sampler seed (default: 0)")
    g.add_argument(
        "--exhaustive",
        action="store_true",
        help=f"run every configuration of a space of at most {MAX_EXHAUSTIVE:,} as an Optuna "
        "trial of its own (resumable, shared by --workers; not with --sampler)",
    )
    g.add_argument(
        "--workers", type=WORKERS, default=1, help="worker processes on this machine (default: 1)"
    )
    g.add_argument(
        "--study",
        type=study_name,
        help="study name: letters, digits and . _ + - (its outputs go to results/<study>/) "
        "(default: from model, budget, shape, settings)",
    )
    g.add_argument(
        "--limit",
        type=Number(int, 2, 1_000_000, even=True),
        default=4,
        help="items per suite setting when the embedded default must be measured first (even: "
        "the fairness suite draws half of each setting's items from each sex): "
        "minutes on a CPU, with wide trust intervals (every Pareto row shows its 95%% "
        "interval); measure more with `codesign.measurements evaluate --limit N` "
        "(default: 4)",
    )
    g.add_argument(
        "--no-measure",
        action="store_true",
        help="never measure: fail if the store lacks predictions",
    )
    g.add_argument("--out", type=Path, help="output folder (default: results/<study>/)")
    g.add_argument(
        "--json",
        action="store_true",
        help="print the Pareto set as JSON on stdout (as pareto.json; progress goes to stderr)",
    )


def _check_engine(args: argparse.Namespace) -> None:
    """The measuring engine's options and servers, before the first measuring phase."""
    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.quantize.cli import grid_labels
    from codesign.search.measure import BITS, METHODS, NEEDED_SUITES

    labels = grid_labels(METHODS.split(","), [int(b) for b in BITS.split(",")], None, [0])
    engine_from_args(args, [SUITES.get(n) for n in NEEDED_SUITES], labels)


def _settings(args: argparse.Namespace) -> Settings:
    """The search's settings, every number checked and every unit and shape file read, before
    the store is opened or anything measured (a typo must not cost hours)."""
    refuse_other_engine_options(args)
    if args.mmlu_floor is not None and args.mmlu_tolerance is not None:
        raise CodesignError("give --mmlu-floor or --mmlu-tolerance, not both (a floor replaces it)")
    if args.exhaustive and args.sampler is not None:
        raise CodesignError(
            "give --exhaustive or --sampler, not both (--exhaustive samples nothing)"
        )
    if args.mmlu_tolerance is None:
        args.mmlu_tolerance = DEFAULT_MMLU_TOLERANCE
    settings = Settings(
        store=args.store,
        model=args.model,
        deploy_shape=None if args.deploy_shape in (None, MEASURED) else args.deploy_shape,
        budget_gb=args.budget_gb,
        mmlu_tolerance=args.mmlu_tolerance,
        mmlu_floor=args.mmlu_floor,
        max_area_mm2=args.max_area_mm2,
        area_node_nm=args.area_node,
        area_scope=args.area_scope,
        max_refusal=args.max_refusal,
        prompt_tokens=args.prompt_tokens,
        new_tokens=args.new_tokens,
        batch=args.batch,
        scoring=args.scoring,
        choices={opt.name: getattr(args, opt.name) for opt in options()},
    )
    check_settings(settings)
    return settings


def default_study_name(ctx: SearchContext) -> str:
    shape = "" if ctx.shape_label == ctx.model else f"-on-{Path(ctx.shape_label).stem}"
    return f"{ctx.model}{shape}-{ctx.settings.budget_gb:g}gb-{ctx.digest()}"


def _header(ctx: SearchContext) -> None:
    cached = " (cached vote)" if ctx.from_cache else ""
    console.print(
        f"trust: measured on {ctx.model} ({ctx.trust.baseline}) from stored predictions by "
        f"voting{cached}; data {ctx.trust.data_origin()}"
    )
    console.print(f"scoring: {PROFILES.get(ctx.trust.profile).title}")
    console.print(
        f"cost: modelled (analytical) for {ctx.shape_label} on each candidate unit; "
        f"{ctx.workload_text()}"
    )
    refusal = ctx.settings.max_refusal
    bound = (
        f"at most {refusal:.0%} of the trust items unanswered (--max-refusal)"
        if refusal < 1
        else "refusals unbounded (--max-refusal 1)"
    )
    console.print(f"constraints: memory ≤ {ctx.settings.budget_gb:g} GB; {ctx.mmlu_note}; {bound}")


def _budget_floor(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse a budget no deployment of a known shape can meet before anything is measured
    (on a fresh store that is an hour of work): the shape is known when given, or when the
    embedded default will be measured (a new store, or that model named)."""
    file = sqlite_file(args.store)
    fresh = file is not None and not file.exists()
    model = args.model or (DEFAULT_MODEL if fresh else None)
    if args.deploy_shape == MEASURED or model is None and args.deploy_shape is None:
        return
    shape, _ = deploy_shape(args.deploy_shape, model or DEFAULT_MODEL)
    if shape is None:
        return
    floor = footprint_floor(settings, shape)
    if floor > settings.budget_gb:
        raise NoFeasibleConfiguration(
            f"no configuration fits --budget-gb {settings.budget_gb:g}: the smallest footprint "
            f"of {shape} is at least {floor:.3g} GB (2 bits, weights + KV cache, on any candidate "
            "unit); nothing was measured"
        )


def _precheck(ctx: SearchContext) -> None:
    """Refuse a search no configuration can pass, naming what is closest."""
    gb, member, unit = smallest_footprint(ctx)
    budget = ctx.settings.budget_gb
    if gb > budget:
        raise NoFeasibleConfiguration(
            f"no configuration fits --budget-gb {budget:g}: the smallest footprint found is "
            f"{gb:.3g} GB ({member} alone on {unit}, {ctx.shape_label} shape, weights + KV cache)"
        )
    if ctx.mmlu_floor is not None:
        best = max(
            (r.get(ctx.mmlu_suite, math.nan) for r in ctx.trust.rows.values()),
            key=lambda v: -math.inf if math.isnan(v) else v,
        )
        if not best >= ctx.mmlu_floor:
            raise NoFeasibleConfiguration(
                f"no ensemble reaches the MMLU floor ({ctx.mmlu_note}); the best is {best:.1f}"
            )


def _nothing_feasible_exact(record: dict) -> NoFeasibleConfiguration:
    """Which constraint excluded how many of an exactly enumerated space's configurations."""
    flags = {"memory_gb": "--budget-gb (or the unit's own memory)", "mmlu": "the MMLU floor"}
    flags |= {"refusal": "--max-refusal", "area_mm2": "--max-area-mm2"}
    parts = [
        f"{flags.get(name, name)} excluded {n:,}"
        for name, n in sorted(record["excluded"].items(), key=lambda kv: -kv[1])
        if n
    ]
    parts += [f"{n:,} cannot run ({why})" for why, n in record["cannot_run"].items() if n]
    return NoFeasibleConfiguration(
        f"no configuration among {record['configurations']:,} (every one priced) meets the "
        "constraints: " + "; ".join(parts)
    )


def _nothing_feasible(study: optuna.Study, ctx: SearchContext) -> NoFeasibleConfiguration:
    """Which constraint excluded how many completed trials, the most excluding first, each with
    the closest any trial came."""
    if exact.EXACT_ATTR in study.user_attrs:
        return _nothing_feasible_exact(study.user_attrs[exact.EXACT_ATTR])
    done = list(completed(study))
    if not done:
        return NoFeasibleConfiguration(
            f"none of the study's {finished(study)} trials could run (see each trial's "
            "cannot_run in optuna-dashboard)"
        )
    metrics = [t.user_attrs["metrics"] for t in done]
    over = {name: 0 for name in ("memory_gb", "area_mm2", "mmlu", "refusal")}
    for t in done:
        for name, value in constraint_values(t).items():
            over[name] = over.get(name, 0) + (value > 0)
    parts = []
    for name, n in sorted(over.items(), key=lambda kv: -kv[1]):
        if not n:
            continue
        share = f"{n} of {len(done)}"
        if name == "memory_gb":
            low = min(m["memory_gb"] for m in metrics)
            parts.append(
                f"--budget-gb {ctx.settings.budget_gb:g} (or the unit's own memory) excluded "
                f"{share}; the smallest footprint found is {low:.3g} GB"
            )
        elif name == "area_mm2":
            low = min(m["area_mm2"] for m in metrics)
            parts.append(
                f"--max-area-mm2 {ctx.settings.max_area_mm2:g} excluded {share}; the smallest "
                f"area found is {low:.3g} mm²"
            )
        elif name == "mmlu":
            best = max((m.get("mmlu") or -math.inf) for m in metrics)
            parts.append(
                f"the MMLU floor ({ctx.mmlu_note}) excluded {share}; the best "
                f"{ctx.mmlu_suite} is {best:.1f}"
            )
        elif name == "refusal":
            low = min(or_default(m.get("unanswered_rate"), 1.0) for m in metrics)
            parts.append(
                f"--max-refusal {ctx.settings.max_refusal:g} excluded {share}; the configuration "
                f"that answered most still left {low:.0%} of the trust items unanswered"
            )
    return NoFeasibleConfiguration(
        f"no configuration among {len(done)} completed trials meets the constraints: "
        + "; ".join(parts)
    )


def _search(args: argparse.Namespace, ctx: SearchContext, name: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if count := _exact_by_default(args, ctx):
        return _search_exact(args, ctx, name, count)
    if args.n_trials is None:
        args.n_trials = DEFAULT_TRIALS
    sampler = "random" if args.exhaustive else (args.sampler or DEFAULT_SAMPLER)
    configs = exhaustive_configs(ctx) if args.exhaustive else []
    label = "exhaustive" if args.exhaustive else sampler
    run = {"sampler": label, "seed": None if args.exhaustive else args.seed}
    storage = open_storage(args.store)
    study = open_study(storage, name, ctx, make_sampler(sampler, args.seed), run=run)
    fail_stale(study, storage)  # a killed worker's trials: failed and queued again
    if args.exhaustive:
        plan = plan_exhaustive(study, configs)
        todo = plan.to_run
        console.print(
            f"--exhaustive: {todo} configurations to run, {plan.done} done of {len(configs)}"
            + (f" ({plan.waiting} queued by an earlier run)" if plan.waiting else "")
            + (f", {plan.running} running elsewhere" if plan.running else "")
        )
    else:
        todo = max(0, args.n_trials - finished(study))
    if args.workers > 1 and args.store.startswith("sqlite"):
        err_console.print(
            "[yellow]note:[/yellow] SQLite serialises writers; for many workers (and machines) "
            "use a PostgreSQL --store"
        )
    on_interrupt(
        lambda: (
            f"{finished(study)} trials of study {name!r} are stored in "
            f"{redacted(args.store)}; run the same command to resume"
        )
    )
    console.print(
        f"study {name!r} on {redacted(args.store)}: {finished(study)} trials done, running {todo} "
        f"({sampler} sampler, seed {args.seed}, {args.workers} worker(s))"
    )
    with progress_bar() as progress:
        task = progress.add_task("trials", total=todo)
        deaths = run_study(
            study,
            ctx,
            storage,
            configs=configs if args.exhaustive else None,
            n_trials=args.n_trials,
            url=args.store,
            sampler=sampler,
            seed=args.seed,
            workers=args.workers,
            progress=lambda n: progress.advance(task, n),
            say=lambda text: progress.console.print(text, highlight=False, markup=False),
        )
    if deaths:
        console.print(
            f"note: {'; '.join(deaths)}; its trial was failed by its stale heartbeat and run "
            "again, and the study is complete",
            highlight=False,
        )
    return study


def _exact_by_default(args: argparse.Namespace, ctx: SearchContext) -> int:
    """With no --sampler, --n-trials or --exhaustive: the space's size when its estimated
    enumeration time is within EXACT_LIMIT_S (0: sample), saying which way was taken and why."""
    if args.exhaustive or args.sampler is not None or args.n_trials is not None:
        return 0
    count = exact.space_count(ctx)
    seconds = exact.estimate_s(count)
    if seconds > exact.EXACT_LIMIT_S:
        console.print(
            f"the space has {count:,} configurations, about {seconds:.0f} s to enumerate (more "
            f"than {exact.EXACT_LIMIT_S:.0f} s): sampling {DEFAULT_TRIALS} trials with "
            f"{DEFAULT_SAMPLER} instead"
        )
        return 0
    console.print(
        f"the space has {count:,} configurations: enumerating it exactly, in batches of the "
        f"vectorised simulators (about {max(seconds, 1):.0f} s at "
        f"{exact.RATE_PER_S:,} configurations/s; give --sampler or --n-trials to sample)"
    )
    return count


def _search_exact(
    args: argparse.Namespace, ctx: SearchContext, name: str, count: int
) -> optuna.Study:
    """The exact front, stored in the study as its trials (once: a rerun reuses it)."""
    storage = open_storage(args.store)
    run = {"sampler": "exact", "seed": None}
    study = open_study(storage, name, ctx, make_sampler("random", None), run=run)
    if exact.EXACT_ATTR in study.user_attrs:
        done = study.user_attrs[exact.EXACT_ATTR]
        console.print(
            f"study {name!r} on {redacted(args.store)} holds the exact front already "
            f"({done['front']} of {done['configurations']:,} configurations)"
        )
        return study
    on_interrupt(lambda: f"nothing of study {name!r} was stored; run the same command again")
    with progress_bar() as progress:
        task = progress.add_task("configurations", total=count)
        result = exact.exact_front(ctx, progress=lambda n: progress.advance(task, n))
    stored = exact.record(study, ctx, result)
    console.print(
        f"enumerated {result.configurations:,} configurations in {result.seconds:.0f} s "
        f"({result.feasible:,} feasible, {len(result.front)} Pareto-optimal); stored the front "
        f"and a sample of {stored - len(result.front)} others as trials of study {name!r}"
    )
    return study


def _exact_records(args: argparse.Namespace, ctx: SearchContext, study: optuna.Study):
    """The study's own exact record, or, for a sampled study, its hypervolume share of the
    exact front stored under the settings' default study name (when there is one)."""
    if exact.EXACT_ATTR in study.user_attrs:
        return study.user_attrs[exact.EXACT_ATTR], None
    name = default_study_name(ctx)
    if name == study.study_name:
        return None, None
    try:
        other = optuna.load_study(study_name=name, storage=open_storage(args.store))
    except KeyError:  # no such study
        return None, None
    if other.user_attrs.get(SIGNATURE_ATTR) != study.user_attrs.get(SIGNATURE_ATTR):
        return None, None
    done = [t for t in completed(study) if feasible(t)]
    return None, exact.hypervolume_share(done, other)


def _report(args: argparse.Namespace, ctx: SearchContext, study: optuna.Study, store: Store):
    # imported here, not at the top: scipy (the trust intervals) and matplotlib take seconds
    # to import, and a typo in the command line must be refused before that (issue 35)
    from codesign.search import export, heldout, outcome

    front = pareto_trials(study)
    if not front:
        raise _nothing_feasible(study, ctx)
    start = time.perf_counter()
    rows = export.pareto_rows(front, ctx)  # with trust intervals: part of the report phase
    heldout.attach(rows, ctx.preds)  # the report's held-out check, per row
    if hasattr(args, "timings"):
        args.timings["pareto_rows"] = time.perf_counter() - start
    out = args.out or Path("results") / study.study_name
    out.mkdir(parents=True, exist_ok=True)  # checked writable before any work (main)
    sampled = study.user_attrs.get(RUN_ATTR) or {"sampler": None, "seed": None}
    run = outcome.run_record(
        sampled["sampler"],
        sampled["seed"],
        args.n_trials,
        redacted(args.store),
        args.argv,
        args.store,
    )
    start = time.perf_counter()
    head = export.summary(ctx, study.study_name, redacted(args.store), finished(study))
    head["run"] = run
    here, deploys, pngs = _write_front(out, head, rows, ctx, study, store)
    timings = getattr(args, "timings", {})
    timings["report"] = time.perf_counter() - start + timings.pop("pareto_rows", 0.0)
    unresolved = {"mmlu": why} if (why := ctx.mmlu_unresolved()) else {}
    how = {"mmlu": ctx.mmlu_note} if ctx.mmlu_floor is not None else {}
    result = outcome.build(
        study, front, rows, run, unresolved, how, *_exact_records(args, ctx, study)
    )
    result["this_machine"] = here
    result["phase_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    written = outcome.write(out, result)
    if args.json:
        print_json({**head, "pareto": rows, "summary": result, "out": str(out)})
    else:
        export.print_table(console, rows, ctx)
    for line in outcome.lines(result):
        console.print(line, highlight=False, markup=False)
    console.print(
        f"{len(rows)} Pareto-optimal configurations of {finished(study)} trials → {out}/: "
        f"pareto.json, pareto.csv, {len(deploys)} deploy-<n>.yaml, "
        + ", ".join(p.name for p in [*written, *pngs])
    )
    console.print(f"open the study: optuna-dashboard {redacted(args.store)}")


def _write_front(out: Path, head: dict, rows: list[dict], ctx: SearchContext, study, store):
    """pareto.json, pareto.csv, one deploy file per row and the plots; returns the cost
    model's check on this machine, the deploy files and the plots written."""
    from codesign.search import export, machine, plots

    export.write_json(out / "pareto.json", head, rows)
    export.write_csv(out / "pareto.csv", rows)
    paths = {v.key: v.path for v, _ in store.variants(ctx.model)}
    here = machine.machine_check(store, ctx.model)
    deploys = export.write_deployments(out, rows, ctx, paths, here)
    numbers = {r["trial"] for r in rows}
    others = [
        t.user_attrs["metrics"] for t in completed(study) if feasible(t) and t.number not in numbers
    ]
    title = (
        f"{study.study_name}: trust measured on {ctx.model}, cost modelled for {ctx.shape_label}"
    )
    return here, deploys, plots.plot_fronts(out, rows, others, title)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded for reproduction
    if args.json:
        with stdout_for_json():
            return _main(args)
    return _main(args)


def _main(args: argparse.Namespace) -> int:
    settings = _settings(args)
    writable_folder(args.out or Path("results"), "--out")
    check_store_url(args.store, must_exist=args.no_measure)
    if engine_argv(args) and not args.no_measure:  # a server named: reached before any work
        _check_engine(args)
    _budget_floor(args, settings)
    store = Store(args.store, create=not args.no_measure)
    args.timings = timings = {}
    from codesign.search.measure import ensure_measurements  # the measuring commands

    model = ensure_measurements(
        store,
        args.model,
        limit=args.limit,
        allow=not args.no_measure,
        timings=timings,
        engine=engine_argv(args),
    )
    shape, why = deploy_shape(args.deploy_shape, model)
    settings = replace(settings, model=model, deploy_shape=shape)
    with _timed(timings, "vote"), console.status("voting every reachable ensemble"):
        ctx = build_context(settings, store)
    _header(ctx)
    console.print(f"cost shape: {why}")
    _precheck(ctx)
    name = args.study or default_study_name(ctx)
    with _timed(timings, "search"):
        study = _search(args, ctx, name)
    _report(args, ctx, study, store)
    return 0


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
