"""Ctrl-C (a real SIGINT) during evaluate, search and the simulators: exit 130, one line that
says what was kept, no traceback, a store that passes SQLite's integrity check, and a rerun
that resumes from what was kept."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from codesign.errors import EXIT_INTERRUPTED
from codesign.search.study import DONE
from codesign.store import Store
from tests.processes import sigint_default, sigint_ignored
from tests.search.conftest import synthetic_db  # noqa: F401 - the session's synthetic store


def _interrupt(
    argv: list[str],
    ready,
    env=None,
    timeout_s: float = 600,
    group: bool = True,
    sig: int = signal.SIGINT,
    pids: list[int] | None = None,
    background: bool = False,
) -> tuple[int, str]:
    """Start ``argv`` in its own session and SIGINT it once ``ready()`` holds (the command is
    mid-work), to its whole process group as a terminal's Ctrl-C does (workers included), or
    to the command's own process alone (``kill -INT``); its exit code and stderr."""
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigint_ignored if background else sigint_default,
    )
    if pids is not None:
        pids.append(proc.pid)  # its process group's id too (a new session)
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.2)
    assert proc.poll() is None, "finished before it could be interrupted"
    if group:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _group_gone(pgid: int, within_s: float) -> bool:
    """Whether every process of the group (a command and its workers) has exited."""
    deadline = time.time() + within_s
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _assert_one_interrupt_line(code: int, err: str, says: str) -> None:
    assert "Traceback" not in err, err
    assert code == EXIT_INTERRUPTED, err
    last = [ln for ln in err.splitlines() if ln.strip()][-1]
    assert last.startswith("interrupted:") and says in last, last
    assert sum(ln.startswith("interrupted") for ln in err.splitlines()) == 1, err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err


def _integrity_ok(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_simulators_interrupted_anywhere_exit_130_in_one_line():
    """While it starts (imports) or runs: the simulators store nothing, and say so. The signal
    comes at fractions of an uninterrupted run's time: on a fast machine the whole command
    takes under 0.2 s, on a slow one several times that."""
    argv = [sys.executable, "-m", "codesign.simulators", "--schedule", "all"]
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    whole = time.perf_counter() - start
    interrupted = 0
    for delay in [whole * f for f in (0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9)]:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_default,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode in (0, -signal.SIGINT):  # finished first, or the signal came while
            continue  # the interpreter started or shut down (no Python code of ours runs there)
        interrupted += 1
        assert "Traceback" not in err, err
        assert proc.returncode == EXIT_INTERRUPTED, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted"), err
    assert interrupted, "every run finished before the signal"


# What numpy's C import does when Ctrl-C lands in it: ``import_array`` prints the pending
# KeyboardInterrupt through sys.excepthook (PyErr_Print) and raises an ImportError of its own,
# with no link back to the interrupt.
C_IMPORT_INTERRUPTED = """
import os, signal, sys
lost = False
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10_000_000):
        pass
except KeyboardInterrupt:
    sys.excepthook(*sys.exc_info())
    lost = True
if lost:
    raise ImportError("numpy._core.multiarray failed to import")
"""


def test_ctrl_c_that_an_extension_turns_into_an_import_error_is_one_line(tmp_path):
    (tmp_path / "extension_like.py").write_text(C_IMPORT_INTERRUPTED)
    code = "from codesign.launch import launch; launch('extension_like')"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        preexec_fn=sigint_default,
    )  # fmt: skip
    assert proc.returncode == EXIT_INTERRUPTED, proc.stderr
    assert proc.stderr == "interrupted while starting: nothing was done\n", proc.stderr


def test_ctrl_c_before_the_launcher_runs_is_one_line():
    """``python -m codesign.<stage>`` imports the packages above the stage before its launcher:
    a Ctrl-C there reaches the top level, which says the one line and exits 130."""
    code = (
        "import sys; sys.argv[:1] = ['-m']; import codesign, os, signal, time; "
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        preexec_fn=sigint_default,
    )  # fmt: skip
    assert proc.returncode == EXIT_INTERRUPTED, proc.stderr
    assert proc.stderr == "interrupted while starting: nothing was done\n", proc.stderr


def test_a_command_started_with_sigint_ignored_keeps_ignoring_it():
    """A background job (SIGINT ignored by its shell) is not stopped by a stray Ctrl-C: the
    launcher installs its handler only where SIGINT was not ignored."""
    code = (
        "import signal; from codesign.launch import watch_sigint; watch_sigint(); "
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    )
    ignored = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    assert ignored.stdout.strip() == "True", ignored.stderr


@pytest.mark.parametrize(("workers", "group"), [(1, True), (2, True), (2, False)])
def test_search_interrupted_keeps_its_trials_and_resumes(synthetic_db, tmp_path, workers, group):  # noqa: F811
    """Workers stop between trials on the group's Ctrl-C or, when the parent alone had it, on
    the parent's word; none outlives the command (its stderr pipe would stay open)."""
    db = tmp_path / "store.db"
    shutil.copy(synthetic_db, db)
    url = f"sqlite:///{db}"
    base = [sys.executable, "-m", "codesign.search", "--store", url, "--no-measure"]
    base += ["--out", str(tmp_path / "out"), "--study", "ctrl-c", "--sampler", "random"]
    base += ["--workers", str(workers)]

    def trials() -> int:
        try:
            study = optuna.load_study(study_name="ctrl-c", storage=url)
            return len(study.get_trials(states=DONE))  # finished, not merely started
        except Exception:  # noqa: BLE001 - not created yet
            return 0

    code, err = _interrupt([*base, "--n-trials", "5000"], lambda: trials() >= 3, group=group)
    err = "\n".join(ln for ln in err.splitlines() if not ln.startswith("note: SQLite"))
    _assert_one_interrupt_line(code, err, "trials of study 'ctrl-c' are stored")
    _integrity_ok(db)
    kept = len(optuna.load_study(study_name="ctrl-c", storage=url).get_trials(states=DONE))
    assert kept >= 3
    rerun = subprocess.run(
        [*base, "--n-trials", str(kept + 2)], capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{kept} trials done, running 2" in rerun.stdout.replace("\n", " ")


def test_evaluate_interrupted_keeps_its_predictions_and_resumes(tiny_llama, tmp_path):
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    argv = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(tiny_llama)]
    argv += ["--method", "gptq", "--bits", "4", "--calib-samples", "4", "--calib-seq-len", "32"]
    argv += ["--suites", "ethics", "--limit", "6", "--max-batch-tokens", "256", "--store", url]
    env = dict(os.environ, CODESIGN_CACHE=str(tmp_path / "cache"))

    def stored() -> int:
        try:
            return Store(url, create=False).counts()["predictions"]
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return 0

    code, err = _interrupt(argv, lambda: stored() >= 4, env)
    _assert_one_interrupt_line(code, err, "predictions are stored in")
    _integrity_ok(db)
    kept = stored()
    assert kept >= 4
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{kept} already stored" in again.stdout.replace("\n", " ")


def test_quantize_interrupted_mid_awq_leaves_nothing_half_made(tiny_llama, tmp_path):
    """Ctrl-C while GPTQModel's worker threads quantize: 130 (not an abort at shutdown), no
    temporary folder left, no variant row; the rerun quantizes it."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "codesign.measurements", "quantize", "--model", str(tiny_llama)]
    argv += ["--method", "awq", "--bits", "4", "--calib-samples", "4", "--calib-seq-len", "32"]
    argv += ["--no-dense", "--store", url]
    env = dict(os.environ, CODESIGN_CACHE=str(cache))

    def building() -> bool:
        return any((cache / "variants").glob("*.tmp-*"))

    code, err = _interrupt(argv, building, env)
    _assert_one_interrupt_line(code, err, "nothing half-made")
    assert not building()
    assert Store(url, create=False).counts()["variants"] == 0
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert Store(url, create=False).counts()["variants"] == 1


@pytest.mark.parametrize(
    ("sig", "background"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["kill-INT", "kill-TERM", "background-job-kill-TERM"],
)
def test_a_signal_to_the_parent_alone_stops_its_workers(tiny_llama, tmp_path, sig, background):
    """`kill -INT` or `kill -TERM` to the command alone (as `timeout`, a job scheduler or a
    process manager sends it), while two workers evaluate: every worker stops within seconds,
    one line, exit 130, the predictions kept. A background job (SIGINT ignored, workers too)
    stops on SIGTERM the same way."""
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    argv = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(tiny_llama)]
    argv += ["--method", "gptq", "--bits", "4,8", "--calib-samples", "4", "--calib-seq-len", "32"]
    argv += ["--suites", "ethics", "--limit", "40", "--max-batch-tokens", "256", "--store", url]
    argv += ["--workers", "2"]
    env = dict(os.environ, CODESIGN_CACHE=str(tmp_path / "cache"))
    pids: list[int] = []

    def stored() -> int:
        try:
            return Store(url, read_only=True).counts()["predictions"]
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return 0

    def ready() -> bool:
        return stored() >= 4

    proc_argv = argv
    start = time.time()
    code, err = _interrupt(
        proc_argv, ready, env, group=False, sig=sig, pids=pids, background=background
    )
    _assert_one_interrupt_line(code, err, "predictions are stored in")
    assert _group_gone(pids[0], within_s=30), "a worker outlived its parent"
    assert time.time() - start < 600
    _integrity_ok(db)
    assert stored() >= 4
