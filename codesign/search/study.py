"""The Optuna study: storage on the store's URL, samplers, resuming, and parallel workers.

The study lives in the same database as the measurements (Optuna's tables beside ours), so a
SQLite file works alone and a PostgreSQL URL lets workers on many machines share one study.
`--n-trials` is the study's total: a rerun (or a crashed run, rerun) continues to it, and a
command on another machine joins the same study. `--workers N` runs N processes on this
machine whose shares add up to exactly the missing trials.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.samplers import BaseSampler, GPSampler, NSGAIISampler, RandomSampler, TPESampler
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from sqlalchemy import event
from sqlalchemy.engine import make_url

from codesign.errors import CodesignError
from codesign.registry import Registry
from codesign.search.context import SearchContext
from codesign.search.objective import DIRECTIONS, HAS_SET_CONSTRAINT, OBJECTIVES, Objective
from codesign.search.space import enumerate_space
from codesign.store import sqlite_pragmas

DONE = (TrialState.COMPLETE, TrialState.PRUNED)
SIGNATURE_ATTR = "codesign"
MAX_EXHAUSTIVE = 5_000  # about ten minutes of trials on a SQLite store

SAMPLERS: Registry[Callable[[int | None], BaseSampler]] = Registry("sampler")
DEFAULT_SAMPLER = "tpe"


def _constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
    return list(trial.user_attrs.get("constraints", ()))


def _legacy(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Optuna 4 reads constraints through constraints_func (Optuna 5: trial.set_constraint)."""
    return kwargs if HAS_SET_CONSTRAINT else {**kwargs, "constraints_func": _constraints}


@SAMPLERS.register("tpe")
def tpe(seed: int | None) -> BaseSampler:
    """Multi-objective TPE with Optuna's defaults (the default sampler): one density per
    parameter copes with conditional parameters, and in bench/search_efficiency.py it beat
    multivariate/grouped TPE, which kept re-proposing configurations it had already run."""
    return TPESampler(**_legacy({"seed": seed}))


@SAMPLERS.register("nsga2")
def nsga2(seed: int | None) -> BaseSampler:
    """NSGA-II with constrained domination; population 20 so 200 trials are 10 generations."""
    return NSGAIISampler(**_legacy({"seed": seed, "population_size": 20}))


@SAMPLERS.register("gp")
def gp(seed: int | None) -> BaseSampler:
    """Gaussian-process Bayesian optimisation (log EHVI with constraint models)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return GPSampler(**_legacy({"seed": seed, "warn_independent_sampling": False}))


@SAMPLERS.register("random")
def random(seed: int | None) -> BaseSampler:
    """Uniform random search (the baseline)."""
    return RandomSampler(seed=seed)


def make_sampler(name: str, seed: int | None) -> BaseSampler:
    return SAMPLERS.get(name)(seed)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: say it as given
        return url


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on `url`; any failure to reach it is one line."""
    sqlite = url.startswith("sqlite")
    engine_kwargs = {"connect_args": {"timeout": 60}} if sqlite else {"pool_pre_ping": True}
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except Exception as exc:  # noqa: BLE001 - the storage boundary: every cause is one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CodesignError(f"cannot open study storage {redacted(url)!r}: {reason}") from None
    if sqlite:
        # synchronous=NORMAL: a commit is not an fsync, so a trial's dozen small writes stay
        # cheap; a crash can lose the last trials, never corrupt the file.
        pragmas = sqlite_pragmas(synchronous="NORMAL", busy_timeout=60000)
        event.listen(storage.engine, "connect", pragmas)
        storage.engine.dispose()  # connections opened from now on get the pragmas
    return storage


def _normal(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


RUN_ATTR = "codesign_sampler"


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    ctx: SearchContext,
    sampler: BaseSampler,
    run: dict[str, Any] | None = None,
) -> optuna.Study:
    """Create the study, or load it if it exists and was made with the same settings and,
    when ``run`` names them, the same sampler and seed (a study's trials never mix two)."""
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        directions=list(DIRECTIONS),
        sampler=sampler,
        load_if_exists=True,
    )
    mine = _normal(ctx.signature())
    found = study.user_attrs.get(SIGNATURE_ATTR)
    if found is None:
        study.set_user_attr(SIGNATURE_ATTR, mine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(OBJECTIVES))
    elif found != mine:
        differ = sorted(k for k in set(found) | set(mine) if found.get(k) != mine.get(k))
        raise CodesignError(
            f"study {name!r} was made with other settings ({', '.join(differ)} differ): "
            "pass another --study, or the same settings to resume it"
        )
    if run is not None:
        before = study.user_attrs.get(RUN_ATTR)
        if before is None:
            study.set_user_attr(RUN_ATTR, run)
        elif before != run:
            raise CodesignError(
                f"study {name!r} was run with the {before['sampler']} sampler, seed "
                f"{before['seed']}; to run {run['sampler']} with seed {run['seed']} pass another "
                "--study (or the same --sampler and --seed to resume it)"
            )
    return study


def finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=DONE))


def split(total: int, workers: int) -> list[int]:
    """`total` trials over `workers` processes, shares adding up exactly."""
    return [total // workers + (1 if i < total % workers else 0) for i in range(workers)]


def _params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def small_space_size(ctx: SearchContext) -> int | None:
    """The number of configurations when at most MAX_EXHAUSTIVE, else None (stops counting
    there, so a large space costs no more than a small one)."""
    n = 0
    for _ in enumerate_space(ctx.space):
        n += 1
        if n > MAX_EXHAUSTIVE:
            return None
    return n


def exhaustive_configs(ctx: SearchContext) -> list[dict[str, Any]]:
    """`--exhaustive`: every configuration's trial parameters; refuses a space too large."""
    configs = []
    for params, _ in enumerate_space(ctx.space):
        configs.append(params)
        if len(configs) > MAX_EXHAUSTIVE:
            raise CodesignError(
                f"the space has more than {MAX_EXHAUSTIVE:,} configurations: narrow it for "
                "--exhaustive (--units, --methods, --schedules, --unit-params fixed)"
            )
    return configs


def enqueue_missing(study: optuna.Study, configs: list[dict[str, Any]]) -> int:
    """Queue every configuration the study has not run yet; returns how many."""
    seen = set()
    for t in study.get_trials(deepcopy=False):
        if t.state in (*DONE, TrialState.RUNNING, TrialState.WAITING):
            seen.add(_params_key(t.system_attrs.get("fixed_params") or t.params))
    todo = [p for p in configs if _params_key(p) not in seen]
    for params in todo:
        study.enqueue_trial(params, skip_if_exists=False)
    return len(todo)


def _optimize(
    study: optuna.Study,
    ctx: SearchContext,
    n_trials: int,
    target: int,
    on_trial: Callable[[], None] | None = None,
    check: Callable[[], None] = lambda: None,
) -> None:
    """`check` runs after every trial, first: it raises to stop the study once Ctrl-C came
    (KeyboardInterrupt in the command's process, SystemExit(130) in a worker); a trial is a
    fraction of a second of arithmetic, so stopping between trials is prompt."""
    callbacks: list = [lambda study, trial: check(), MaxTrialsCallback(target, states=DONE)]
    if on_trial is not None:
        callbacks.append(lambda study, trial: on_trial())
    study.optimize(Objective(ctx), n_trials=n_trials, callbacks=callbacks)


def _worker(
    ctx: SearchContext,
    url: str,
    name: str,
    sampler: str,
    seed: int | None,
    n: int,
    target: int,
    stop: Any,
) -> None:
    """One worker process: its own storage connection and sampler, its share of the trials.
    It starts with SIGINT blocked (`run_trials`): a Ctrl-C reaches the parent, which sets
    `stop`, and the worker stops after its trial, exiting 130 without a traceback (the parent
    prints the one interrupt line)."""
    from codesign.cli_common import quiet_interrupt_logs

    def stopped() -> None:
        if stop.is_set():
            raise SystemExit(130)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stopped()  # Ctrl-C while this process started
    with quiet_interrupt_logs():
        study = optuna.load_study(
            study_name=name, storage=open_storage(url), sampler=make_sampler(sampler, seed)
        )
        _optimize(study, ctx, n, target, check=stopped)


def run_trials(
    study: optuna.Study,
    ctx: SearchContext,
    *,
    url: str,
    sampler: str,
    seed: int | None,
    n_trials: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Run the study's missing trials (exactly `n_trials` more) on `workers` processes."""
    from codesign.cli_common import interrupts_at_safe_points, sigint_blocked

    target = finished(study) + n_trials
    if n_trials <= 0:
        return 0
    on_trial = (lambda: progress(1)) if progress else None
    if workers <= 1:
        with interrupts_at_safe_points() as check:
            _optimize(study, ctx, n_trials, target, on_trial, check)
        return n_trials
    mp = multiprocessing.get_context("spawn")
    stop = mp.Event()
    procs = []
    for i, share in enumerate(split(n_trials, workers)):
        if share == 0:
            continue
        wseed = None if seed is None else seed + i
        args = (ctx, url, study.study_name, sampler, wseed, share, target, stop)
        procs.append(mp.Process(target=_worker, args=args, name=f"codesign-search-{i}"))
    with interrupts_at_safe_points() as check:
        with sigint_blocked():  # the workers inherit it: the parent alone takes Ctrl-C
            for p in procs:
                p.start()
        try:
            _watch(study, procs, target - n_trials, progress, check)
        except KeyboardInterrupt:
            _stop(procs, stop)
            raise
    failed = [p for p in procs if p.exitcode != 0]
    if failed:
        codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in failed)
        raise CodesignError(f"search workers failed ({codes}); finished trials are kept: rerun")
    return n_trials


WORKER_GRACE_S = 60.0  # a worker finishes its trial and stops; past this it is terminated


def _stop(procs: list, stop: Any, grace_s: float = WORKER_GRACE_S) -> None:
    """After Ctrl-C: tell the workers to stop after their trial, wait for them, and terminate
    any still running, so that the command ends and no worker outlives it."""
    stop.set()
    deadline = time.monotonic() + grace_s
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)


def _watch(study, procs, start: int, progress, check: Callable[[], None]) -> None:
    shown = 0
    while any(p.is_alive() for p in procs):
        time.sleep(0.5)
        check()
        if progress is not None:
            done = finished(study) - start
            if done > shown:
                progress(done - shown)
                shown = done
    for p in procs:
        p.join()
    check()
    if progress is not None:
        progress(max(0, finished(study) - start - shown))


def completed(study: optuna.Study) -> Iterator[optuna.trial.FrozenTrial]:
    yield from study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
