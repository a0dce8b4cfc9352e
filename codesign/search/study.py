"""The Optuna study: storage on the store's URL, samplers, resuming, and parallel workers.

The study lives in the same database as the measurements (Optuna's tables beside ours), so a
SQLite file works alone and a PostgreSQL URL lets workers on many machines share one study.
`--n-trials` is the study's total: a rerun (or a crashed run, rerun) continues to it, and a
command on another machine joins the same study. `--workers N` runs N processes on this
machine whose shares add up to exactly the missing trials.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from codesign.search.pareto import params_key
from codesign.search.space import enumerate_space
from codesign.store import lock_wait_s, sqlite_pragmas, store_refusal

try:  # Optuna >= 4.9 names it for what it does
    from optuna.storages import RetryHeartbeatStaleTrialCallback as _Retry

    _CALLBACK_KW = "heartbeat_stale_trial_callback"
except ImportError:  # pragma: no cover - older Optuna
    from optuna.storages import RetryFailedTrialCallback as _Retry

    _CALLBACK_KW = "failed_trial_callback"

MAX_RETRY = 3  # a stale trial is queued again at most this many times
INTERRUPTED_ATTR = "interrupted"  # a trial failed by Ctrl-C (user attr): run it again

DONE = (TrialState.COMPLETE, TrialState.PRUNED)
SIGNATURE_ATTR = "codesign"
MAX_EXHAUSTIVE = 5_000  # about ten minutes of trials on a SQLite store

SAMPLERS: Registry[Callable[[int | None], BaseSampler]] = Registry("sampler")
DEFAULT_SAMPLER = "tpe"
DEFAULT_TRIALS = 200  # a sampled study's size when --n-trials is not given


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


def heartbeat_s() -> int:
    """Seconds between a running trial's heartbeats ($CODESIGN_SEARCH_HEARTBEAT_S, default 10).
    A trial whose heartbeat is GRACE_BEATS of them old is stale: its worker died (SIGKILL,
    out of memory, a host gone), and the trial is failed and queued again."""
    try:
        return max(1, int(os.environ.get("CODESIGN_SEARCH_HEARTBEAT_S", "10")))
    except ValueError:
        return 10


GRACE_BEATS = 3
# a trial is a fraction of a second of arithmetic: one still RUNNING this many grace periods
# after it started, with no heartbeat to say otherwise (made before heartbeats, or killed
# before its first one), is a dead worker's
STALE_START_GRACES = 4


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on `url`, with heartbeats: a trial whose worker died is failed and
    retried (queued again with its parameters) by whichever worker or rerun looks next. Any
    failure to reach it is one line; processes creating its tables at once are retried."""
    sqlite = url.startswith("sqlite")
    engine_kwargs = (
        {"connect_args": {"timeout": lock_wait_s()}} if sqlite else {"pool_pre_ping": True}
    )
    beat = heartbeat_s()
    with warnings.catch_warnings():  # heartbeats are experimental in Optuna (since 2.9)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        kwargs = {
            "engine_kwargs": engine_kwargs,
            "heartbeat_interval": beat,
            "grace_period": beat * GRACE_BEATS,
            _CALLBACK_KW: _Retry(max_retry=MAX_RETRY),
        }
    for attempt in range(8):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(url, **kwargs)
            break
        except Exception as exc:  # noqa: BLE001 - the storage boundary: every cause is one line
            text = str(exc).strip()
            if attempt < 7 and any(r in text for r in ("already exists", "duplicate key")):
                time.sleep(0.05 * (attempt + 1))  # another process created the tables first
                continue
            if (refused := store_refusal(exc)) is not None:  # locked or read-only: said so
                raise refused from None
            reason = text.splitlines()[0] if text else type(exc).__name__
            raise CodesignError(f"cannot open study storage {redacted(url)!r}: {reason}") from None
    if sqlite:
        # synchronous=NORMAL: a commit is not an fsync, so a trial's dozen small writes stay
        # cheap; a crash can lose the last trials, never corrupt the file.
        pragmas = sqlite_pragmas(synchronous="NORMAL", busy_timeout=int(lock_wait_s() * 1000))
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


def fail_stale(study: optuna.Study, storage: optuna.storages.RDBStorage) -> int:
    """Fail the trials whose worker died and queue each again (the storage's retry callback):
    those whose heartbeat is older than the grace period (Optuna's check), and those RUNNING
    with no heartbeat STALE_START_GRACES grace periods after they started. Returns how many."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        before = _running_numbers(study)
        optuna.storages.fail_stale_trials(study)
        failed = len(before - _running_numbers(study))
        grace = heartbeat_s() * GRACE_BEATS
        cutoff = datetime.now() - timedelta(seconds=grace * STALE_START_GRACES)
        old = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.datetime_start is not None and t.datetime_start < cutoff
        ]
        if not old:
            return failed
        study_id = storage.get_study_id_from_name(study.study_name)
        retry = _stale_callback(storage)
        for t in old:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
            try:
                if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # it finished, or another process failed it first
            failed += 1
            if retry is not None:
                retry(study, storage.get_trial(trial_id))
    return failed


def _running_numbers(study: optuna.Study) -> set[int]:
    return {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}


def _stale_callback(storage: optuna.storages.RDBStorage) -> Callable | None:
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None)
    return getter() if getter is not None else storage.get_failed_trial_callback()


@dataclass(frozen=True)
class ExhaustivePlan:
    """Where every configuration of an exhaustive study stands."""

    queued: int  # newly queued now
    waiting: int  # queued before (an interrupted or killed run's, a dead worker's retry)
    running: int  # running elsewhere under a live heartbeat
    done: int  # complete, pruned or failed by its own error

    @property
    def to_run(self) -> int:
        return self.queued + self.waiting


def plan_exhaustive(study: optuna.Study, configs: list[dict[str, Any]]) -> ExhaustivePlan:
    """Queue every configuration not yet run; a configuration counts as done once a trial of
    it is complete, pruned, or failed by an error of its own, and as waiting or running while
    a trial of it is (a trial failed by Ctrl-C or by a dead worker is run again)."""
    states: dict[str, set[str]] = {}
    for t in study.get_trials(deepcopy=False):
        state = t.state.name
        if t.state == TrialState.FAIL and t.user_attrs.get(INTERRUPTED_ATTR):
            state = "INTERRUPTED"
        key = params_key(t.system_attrs.get("fixed_params") or t.params)
        states.setdefault(key, set()).add(state)
    queued = waiting = running = done = 0
    for params in configs:
        seen = states.get(params_key(params), set())
        if seen & {"COMPLETE", "PRUNED"}:
            done += 1
        elif "WAITING" in seen:
            waiting += 1
        elif "RUNNING" in seen:
            running += 1
        elif "FAIL" in seen:
            done += 1
        else:
            study.enqueue_trial(params, skip_if_exists=False)
            queued += 1
    return ExhaustivePlan(queued, waiting, running, done)


class _Marked:
    """The objective, marking a trial that Ctrl-C cut short (Optuna fails it): an exhaustive
    rerun runs that configuration again."""

    def __init__(self, objective: Callable[[optuna.Trial], Any]) -> None:
        self.objective = objective
        self.current: int | None = None  # the number of the trial being run
        self.raised = False  # whether its objective raised (its error is the trial's)

    def __call__(self, trial: optuna.Trial) -> Any:
        self.current, self.raised = trial.number, False
        try:
            return self.objective(trial)
        except optuna.exceptions.UpdateFinishedTrialError:
            raise  # another process finished this trial while it ran here: not its error
        except Exception:
            self.raised = True
            raise
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):  # a storage mid-write may refuse: then FAIL
                trial.set_user_attr(INTERRUPTED_ATTR, True)
            raise


def _optimize(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
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
    objective = _Marked(Objective(ctx))
    while True:
        try:
            study.optimize(objective, n_trials=n_trials, callbacks=callbacks)
            return
        # Optuna refuses to record a trial that is no longer RUNNING: ValueError("Cannot tell
        # a COMPLETE trial"), UpdateFinishedTrialError when it finished between the check and
        # the write, or, for a FAIL one, AssertionError("Should not reach.") from its logging
        # (Optuna 5.1; tests/search/test_resume.py pins the last)
        except (ValueError, AssertionError, optuna.exceptions.UpdateFinishedTrialError):
            if objective.raised or not _finished_elsewhere(study, storage, objective.current):
                raise
            # another process finished this trial first: it judged its heartbeat stale (a
            # stalled host) and queued it again, or, on SQLite, whose reads take no lock, it
            # popped the same queued trial; the trial is someone's; this worker goes on


def _finished_elsewhere(
    study: optuna.Study, storage: optuna.storages.RDBStorage, number: int | None
) -> bool:
    """Whether trial ``number``, which this process ran without error, was finished (or
    failed) by another process before this one could record it. Read from the database
    itself: the study's own cache still holds the trial as this process's, RUNNING."""
    if number is None:
        return False
    study_id = storage.get_study_id_from_name(study.study_name)
    trial = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study_id, number))
    return trial.state != TrialState.RUNNING and not trial.user_attrs.get(INTERRUPTED_ATTR)


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
    from codesign.commandline.interrupts import quiet_interrupt_logs

    def stopped() -> None:
        if stop.is_set():
            raise SystemExit(130)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stopped()  # Ctrl-C while this process started
    with quiet_interrupt_logs():
        storage = open_storage(url)
        study = optuna.load_study(
            study_name=name, storage=storage, sampler=make_sampler(sampler, seed)
        )
        _optimize(study, storage, ctx, n, target, check=stopped)


def run_trials(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    ctx: SearchContext,
    *,
    url: str,
    sampler: str,
    seed: int | None,
    n_trials: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Run `n_trials` more trials on `workers` processes; returns how each worker that died
    ended (killed by a signal: its trial is retaken by `run_study`), empty when none did."""
    from codesign.commandline.interrupts import interrupts_at_safe_points, sigint_blocked

    target = finished(study) + n_trials
    if n_trials <= 0:
        return []
    on_trial = (lambda: progress(1)) if progress else None
    if workers <= 1:
        with interrupts_at_safe_points() as check:
            _optimize(study, storage, ctx, n_trials, target, on_trial, check)
        return []
    mp = multiprocessing.get_context("spawn")
    stop = mp.Event()
    procs = []
    for i, share in enumerate(split(n_trials, workers)):
        if share == 0:
            continue
        wseed = None if seed is None else seed + i
        args = (ctx, url, study.study_name, sampler, wseed, share, target, stop)
        procs.append(mp.Process(target=_worker, args=args, name=f"search worker {i + 1}"))
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
    errors = [p for p in failed if p.exitcode is None or p.exitcode > 0]
    if errors:  # an error in the worker (its traceback is above): not something to retake
        codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in errors)
        raise WorkerDied(f"a search worker failed ({codes}); finished trials are kept: rerun")
    return [f"{p.name} was killed by {_signal_name(-p.exitcode)}" for p in failed]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class WorkerDied(CodesignError):
    """A search worker died and its trials could not be retaken: not bad input."""

    exit_code = 1


MAX_DEATH_ROUNDS = 3  # rounds that may lose a worker before the search gives up


def run_study(
    study: optuna.Study,
    ctx: SearchContext,
    storage: optuna.storages.RDBStorage,
    *,
    configs: list[dict[str, Any]] | None,
    n_trials: int,
    url: str,
    sampler: str,
    seed: int | None,
    workers: int,
    progress: Callable[[int], None] | None = None,
    say: Callable[[str], None] = print,
) -> list[str]:
    """Run the study until it holds what was asked: with ``configs`` (exhaustive) every
    configuration done; else ``n_trials`` finished trials. A dead worker's trial (Optuna's
    heartbeat, `fail_stale`) is queued again and run; trials running elsewhere are waited for.
    Returns how the workers that died ended."""
    deaths: list[str] = []
    waited = False
    while True:
        fail_stale(study, storage)
        if configs is not None:
            plan = plan_exhaustive(study, configs)
            todo, running = plan.to_run, plan.running
        else:
            running = len(_running_numbers(study))
            todo = max(0, n_trials - finished(study) - running)
        if todo:
            died = run_trials(
                study, storage, ctx, url=url, sampler=sampler, seed=seed, n_trials=todo,
                workers=workers, progress=progress,
            )  # fmt: skip
            deaths += died
            if died and len(deaths) > MAX_DEATH_ROUNDS * workers:
                raise WorkerDied(
                    f"search workers keep dying ({'; '.join(deaths)}); finished trials are "
                    "kept: rerun"
                )
            continue
        if not running:
            return deaths
        if not waited:
            waited = True
            say(
                f"waiting for {running} trials running elsewhere (a dead worker's trial is run "
                f"again here once its heartbeat is {heartbeat_s() * GRACE_BEATS} s old)"
            )
        time.sleep(min(2.0, heartbeat_s()))


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
