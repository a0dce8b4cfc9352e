"""``python -m codesign.search``: constrained multi-objective search for Pareto-optimal deployments.

Reads trust (stored predictions, voted once for every reachable ensemble) and costs (the
simulators) into one Optuna study on the store's URL, then writes the Pareto set: pareto.json,
pareto.csv, one deploy-<n>.yaml per configuration, PNG fronts and a table.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import optuna
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from codesign.cli_common import add_store_option, console, err_console, make_parser, run_cli
from codesign.errors import CodesignError
from codesign.measurements.evaluate.profiles import DEFAULT_PROFILE, PROFILES
from codesign.search import export, plots
from codesign.search.context import (
    SearchContext,
    Settings,
    build_context,
    smallest_footprint,
)
from codesign.search.measure import ensure_measurements
from codesign.search.pareto import feasible, pareto_trials
from codesign.search.space import options
from codesign.search.study import (
    DEFAULT_SAMPLER,
    MAX_EXHAUSTIVE,
    SAMPLERS,
    completed,
    enqueue_missing,
    exhaustive_configs,
    finished,
    make_sampler,
    open_storage,
    open_study,
    redacted,
    run_trials,
    small_space_size,
)
from codesign.store import Store

DESCRIPTION = """\
Search precision ensembles × vote rule × schedule × compute unit for the Pareto-optimal
deployments: trust (maximize; measured, by voting over stored predictions) against latency,
energy and area (minimize; modelled), with memory ≤ --budget-gb and MMLU ≥ a floor.

  python -m codesign.search --budget-gb 24
  python -m codesign.search --budget-gb 24 --deploy-shape llama-2-13b --sampler nsga2
  python -m codesign.search --budget-gb 24 --store postgresql+psycopg://user@host/db --workers 8

If the store lacks the predictions the search needs, the embedded default model is measured
first (slow on a CPU; stored, never repeated). Rerunning the same command resumes the study;
the same command on another machine (PostgreSQL store) joins it.
"""


class NoFeasibleConfiguration(CodesignError):
    """The search ran, and no configuration met the constraints."""

    exit_code = 1


def _csv(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("search", DESCRIPTION)
    add_store_option(p)
    _target_options(p.add_argument_group("target and constraints"))
    _scoring_option(p.add_argument_group("scoring"))
    _space_options(p.add_argument_group("search space"))
    _run_options(p.add_argument_group("optimisation, measurements and output"))
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
        help="model costs for this shape instead of the measured model's: llama-2-7b, "
        "llama-2-13b, qwen2.5-7b or a config.json (trust stays the measured model's; every "
        "output says so)",
    )
    g.add_argument(
        "--budget-gb",
        type=float,
        default=24.0,
        help="memory budget of the deployment, weights + KV cache (default: 24)",
    )
    g.add_argument(
        "--mmlu-tolerance",
        type=float,
        default=5.0,
        help="MMLU floor = the dense model's MMLU (log-likelihood) minus this many points "
        "(default: 5)",
    )
    g.add_argument("--mmlu-floor", type=float, help="absolute MMLU floor instead (0–100)")
    g.add_argument("--max-area-mm2", type=float, help="optional unit area limit (mm²)")
    g.add_argument(
        "--prompt-tokens", type=int, default=256, help="prefill tokens per request (default: 256)"
    )
    g.add_argument("--new-tokens", type=int, default=8, help="decoded tokens (default: 8)")
    g.add_argument("--batch", type=int, default=1, help="sequences per batch (default: 1)")


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
        help=f"Optuna multi-objective sampler (default: {DEFAULT_SAMPLER}; a space of at most "
        f"{MAX_EXHAUSTIVE:,} configurations is enumerated exactly unless a sampler is given)",
    )
    g.add_argument(
        "--n-trials",
        type=int,
        default=200,
        help="trials the study should hold; a rerun continues to it (default: 200)",
    )
    g.add_argument("--seed", type=int, default=0, help="sampler seed (default: 0)")
    g.add_argument(
        "--exhaustive",
        action="store_true",
        help="run every configuration of a small space instead of sampling",
    )
    g.add_argument(
        "--workers", type=int, default=1, help="worker processes on this machine (default: 1)"
    )
    g.add_argument("--study", help="study name (default: from model, budget, shape, settings)")
    g.add_argument(
        "--limit",
        type=int,
        default=20,
        help="items per suite setting when the embedded default must be measured first "
        "(default: 20)",
    )
    g.add_argument(
        "--no-measure",
        action="store_true",
        help="never measure: fail if the store lacks predictions",
    )
    g.add_argument("--out", type=Path, help="output folder (default: results/<study>/)")


def _settings(args: argparse.Namespace, model: str) -> Settings:
    for name in ("budget_gb", "prompt_tokens", "new_tokens", "batch", "n_trials", "workers"):
        value = getattr(args, name)
        if not value > 0:
            raise CodesignError(f"--{name.replace('_', '-')} must be positive, got {value}")
    return Settings(
        store=args.store,
        model=model,
        deploy_shape=args.deploy_shape,
        budget_gb=args.budget_gb,
        mmlu_tolerance=args.mmlu_tolerance,
        mmlu_floor=args.mmlu_floor,
        max_area_mm2=args.max_area_mm2,
        prompt_tokens=args.prompt_tokens,
        new_tokens=args.new_tokens,
        batch=args.batch,
        scoring=args.scoring,
        choices={opt.name: getattr(args, opt.name) for opt in options()},
    )


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
    console.print(f"constraints: memory ≤ {ctx.settings.budget_gb:g} GB; {ctx.mmlu_note}")


def _precheck(ctx: SearchContext) -> None:
    """Refuse a search no configuration can pass, naming what is closest."""
    gb, member, unit = smallest_footprint(ctx)
    budget = ctx.settings.budget_gb
    if gb > budget:
        raise CodesignError(
            f"no configuration fits --budget-gb {budget:g}: the smallest footprint found is "
            f"{gb:.3g} GB ({member} alone on {unit}, {ctx.shape_label} shape, weights + KV cache)"
        )
    if ctx.mmlu_floor is not None:
        best = max(
            (r.get(ctx.mmlu_suite, math.nan) for r in ctx.trust.rows.values()),
            key=lambda v: -math.inf if math.isnan(v) else v,
        )
        if not best >= ctx.mmlu_floor:
            raise CodesignError(
                f"no ensemble reaches the MMLU floor ({ctx.mmlu_note}); the best is {best:.1f}"
            )


def _nothing_feasible(study: optuna.Study, ctx: SearchContext) -> NoFeasibleConfiguration:
    done = list(completed(study))
    if not done:
        return NoFeasibleConfiguration(
            f"none of the study's {finished(study)} trials could run (see each trial's "
            "cannot_run in optuna-dashboard)"
        )
    memory = min(t.user_attrs["metrics"]["memory_gb"] for t in done)
    text = (
        f"no configuration among {len(done)} completed trials meets the constraints: the "
        f"smallest footprint found is {memory:.3g} GB (budget {ctx.settings.budget_gb:g} GB)"
    )
    if ctx.settings.max_area_mm2 is not None:
        area = min(t.user_attrs["metrics"]["area_mm2"] for t in done)
        text += f"; the smallest area is {area:.3g} mm² (max {ctx.settings.max_area_mm2:g})"
    mmlu = [t.user_attrs["metrics"].get("mmlu") for t in done]
    if ctx.mmlu_floor is not None and any(v is not None for v in mmlu):
        best = max(v for v in mmlu if v is not None)
        text += f"; the best {ctx.mmlu_suite} is {best:.1f} ({ctx.mmlu_note})"
    return NoFeasibleConfiguration(text)


def _search(args: argparse.Namespace, ctx: SearchContext, name: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not args.exhaustive and args.sampler is None:
        size = small_space_size(ctx)
        if size is not None:
            args.exhaustive = True
            console.print(
                f"the space has {size:,} configurations (at most {MAX_EXHAUSTIVE:,}): enumerating "
                "it exactly instead of sampling (give --sampler to sample)"
            )
    sampler = "random" if args.exhaustive else (args.sampler or DEFAULT_SAMPLER)
    configs = exhaustive_configs(ctx) if args.exhaustive else []
    study = open_study(open_storage(args.store), name, ctx, make_sampler(sampler, args.seed))
    if args.exhaustive:
        todo = enqueue_missing(study, configs)
        console.print(f"--exhaustive: {todo} configurations to run, {finished(study)} done")
    else:
        todo = max(0, args.n_trials - finished(study))
    if args.workers > 1 and args.store.startswith("sqlite"):
        err_console.print(
            "[yellow]note:[/yellow] SQLite serialises writers; for many workers (and machines) "
            "use a PostgreSQL --store"
        )
    console.print(
        f"study {name!r} on {redacted(args.store)}: {finished(study)} trials done, running {todo} "
        f"({sampler} sampler, seed {args.seed}, {args.workers} worker(s))"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("trials", total=todo)
        run_trials(
            study,
            ctx,
            url=args.store,
            sampler=sampler,
            seed=args.seed,
            n_trials=todo,
            workers=args.workers,
            progress=lambda n: progress.advance(task, n),
        )
    return study


def _report(args: argparse.Namespace, ctx: SearchContext, study: optuna.Study, store: Store):
    front = pareto_trials(study)
    if not front:
        raise _nothing_feasible(study, ctx)
    rows = export.pareto_rows(front, ctx)
    out = args.out or Path("results") / study.study_name
    out.mkdir(parents=True, exist_ok=True)
    head = export.summary(ctx, study.study_name, redacted(args.store), finished(study))
    export.write_json(out / "pareto.json", head, rows)
    export.write_csv(out / "pareto.csv", rows)
    paths = {v.key: v.path for v, _ in store.variants(ctx.model)}
    deploys = export.write_deployments(out, rows, ctx, paths)
    numbers = {r["trial"] for r in rows}
    others = [
        t.user_attrs["metrics"] for t in completed(study) if feasible(t) and t.number not in numbers
    ]
    title = (
        f"{study.study_name}: trust measured on {ctx.model}, cost modelled for {ctx.shape_label}"
    )
    pngs = plots.plot_fronts(out, rows, others, title)
    export.print_table(console, rows, ctx)
    console.print(
        f"{len(rows)} Pareto-optimal configurations of {finished(study)} trials → {out}/: "
        f"pareto.json, pareto.csv, {len(deploys)} deploy-<n>.yaml, "
        + ", ".join(p.name for p in pngs)
    )
    console.print(f"open the study: optuna-dashboard {redacted(args.store)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.limit < 1:
        raise CodesignError("--limit must be ≥ 1")
    store = Store(args.store)
    model = ensure_measurements(store, args.model, limit=args.limit, allow=not args.no_measure)
    settings = _settings(args, model)
    with console.status("voting every reachable ensemble over the stored predictions"):
        ctx = build_context(settings, store)
    _header(ctx)
    _precheck(ctx)
    name = args.study or default_study_name(ctx)
    study = _search(args, ctx, name)
    _report(args, ctx, study, store)
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
