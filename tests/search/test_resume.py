"""An exhaustive search cut short — Ctrl-C, a worker killed, every process killed — is finished
by its rerun (or by its own parent), and reaches the front an uninterrupted run reaches; a dead
worker's trial is failed by its stale heartbeat and run again, never left RUNNING."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import optuna
import psutil
import pytest
from optuna.trial import TrialState

from codesign.search.cli import entry
from codesign.search.pareto import pareto_trials
from codesign.search.study import DONE, fail_stale, open_storage
from tests.processes import sigint_default
from tests.search.conftest import search_args

# 183 configurations: long enough (about 10 s of trials) to be cut in the middle
SPACE = (
    "--methods", "gptq,awq,dense", "--units", "stripes", "--unit-params", "fixed",
    "--schedules", "sequential,cascade,partitioned", "--vote-rules", "majority,weighted",
    "--exhaustive",
)  # fmt: skip
# a dead worker's trial is stale after 6 s (SQLite's clock in the heartbeat table has whole
# seconds, and two workers on two cores may delay a beat by a second or two)
FAST_BEATS = {"CODESIGN_SEARCH_HEARTBEAT_S": "2"}


def _argv(url: str, out, study: str, *extra: str) -> list[str]:
    return [*search_args(url, out, *SPACE), "--study", study, *extra]


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def _front(url: str, name: str) -> set[str]:
    return {json.dumps(t.params, sort_keys=True) for t in pareto_trials(_study(url, name))}


def _done(url: str, name: str) -> int:
    try:
        return len(_study(url, name).get_trials(deepcopy=False, states=DONE))
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def _start(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "codesign.search", *argv], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=sigint_default,
    )  # fmt: skip


def _when(predicate, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.time() + timeout_s
    while not predicate():
        assert proc.poll() is None, "finished before it could be cut short"
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def reference(synthetic_db, tmp_path_factory) -> set[str]:
    """The front of an uninterrupted exhaustive run on a copy of the same store (once)."""
    folder = tmp_path_factory.mktemp("reference")
    shutil.copy(synthetic_db, folder / "store.db")
    url = f"sqlite:///{folder / 'store.db'}"
    assert entry(_argv(url, folder / "ref", "reference")) == 0
    states = {t.state for t in _study(url, "reference").get_trials()}
    assert states <= set(DONE)
    return _front(url, "reference")


def _finished_everything(url: str, name: str) -> None:
    trials = _study(url, name).get_trials(deepcopy=False)
    done = {json.dumps(t.params, sort_keys=True) for t in trials if t.state in DONE}
    assert len(done) == 183
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_a_rerun_after_ctrl_c_runs_every_configuration_left(search_store, tmp_path, reference):
    env = dict(os.environ, **FAST_BEATS)
    argv = _argv(search_store, tmp_path / "cut", "cut")
    proc = _start(argv, env)
    _when(lambda: _done(search_store, "cut") >= 10, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    kept = _done(search_store, "cut")
    assert 10 <= kept < 183
    rerun = subprocess.run(
        [sys.executable, "-m", "codesign.search", *argv], env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{183 - kept} configurations to run, {kept} done of 183" in rerun.stdout
    _finished_everything(search_store, "cut")
    assert _front(search_store, "cut") == reference


def test_a_killed_worker_is_retaken_by_its_parent(search_store, tmp_path, reference):
    """SIGKILL of one of two workers: its trial goes stale, is failed and run again; the
    command completes (exit 0) and says a worker died."""
    env = dict(os.environ, **FAST_BEATS)
    proc = _start([*_argv(search_store, tmp_path / "w", "killed"), "--workers", "2"], env)
    _when(lambda: _done(search_store, "killed") >= 10, proc)
    workers = [
        c for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())
    ]
    assert len(workers) == 2
    workers[0].kill()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "was killed by SIGKILL" in out and "the study is complete" in out
    assert "Traceback" not in err
    _finished_everything(search_store, "killed")
    assert _front(search_store, "killed") == reference


def test_a_rerun_after_every_process_was_killed_finishes_the_study(
    search_store, tmp_path, reference
):
    """SIGKILL of the whole command (parent and workers): queued configurations stay WAITING
    and the running ones RUNNING; the rerun runs the first, waits out the heartbeat of the
    second and runs them again."""
    env = dict(os.environ, **FAST_BEATS)
    argv = [*_argv(search_store, tmp_path / "k", "all-killed"), "--workers", "2"]
    proc = _start(argv, env)
    _when(lambda: _done(search_store, "all-killed") >= 10, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    rerun = subprocess.run(
        [sys.executable, "-m", "codesign.search", *argv], env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _finished_everything(search_store, "all-killed")
    assert _front(search_store, "all-killed") == reference


def test_a_running_trial_without_a_live_heartbeat_is_failed_and_queued_again(
    search_store, tmp_path, monkeypatch
):
    monkeypatch.setenv("CODESIGN_SEARCH_HEARTBEAT_S", "1")
    storage = open_storage(search_store)
    study = optuna.create_study(
        study_name="stale", storage=storage, directions=["maximize", "minimize"]
    )
    study.enqueue_trial({"x": 1.0})
    with warnings.catch_warnings():  # ask() outside optimize(): Optuna says heartbeats want it
        warnings.simplefilter("ignore", UserWarning)
        trial = study.ask()  # RUNNING, as a worker killed mid-trial leaves it
    storage.record_heartbeat(trial._trial_id)
    assert fail_stale(study, storage) == 0  # its heartbeat is fresh
    time.sleep(4.5)
    assert fail_stale(study, storage) == 1
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    retry = study.get_trials(deepcopy=False)[1]
    assert retry.system_attrs["fixed_params"] == {"x": 1.0}


def test_a_worker_whose_live_trial_was_failed_under_it_goes_on(search_store, monkeypatch):
    """A stalled host's live trial may be judged stale by another worker (failed and queued
    again); Optuna then refuses to record it, and the worker goes on with the next one."""
    from codesign.search import study as study_module
    from codesign.search.objective import DIRECTIONS

    storage = open_storage(search_store)
    study = optuna.create_study(study_name="under", storage=storage, directions=list(DIRECTIONS))

    class FailedUnderIt:
        def __init__(self, ctx) -> None:
            pass

        def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
            trial.suggest_float("x", 0, 1)
            if trial.number == 1:  # what another worker's stale check does to it
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            return (1.0,) * len(DIRECTIONS)

    monkeypatch.setattr(study_module, "Objective", FailedUnderIt)
    study_module._optimize(study, storage, None, n_trials=3, target=3)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states.count(TrialState.COMPLETE) == 3 and states[1] == TrialState.FAIL
