"""Progress that reads in a log file (a line per step with the time so far and an ETA), and
Ctrl-C held to a safe point."""

from __future__ import annotations

import io
import os
import signal

import pytest
from rich.console import Console

from codesign.commandline.interrupts import interrupts_at_safe_points, sigint_blocked
from codesign.commandline.progress import LineProgress


def test_piped_progress_prints_a_line_per_step_with_an_eta(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("codesign.commandline.progress.time.monotonic", lambda: now[0])
    out = io.StringIO()
    with LineProgress(Console(file=out, width=200)) as progress:
        task = progress.add_task("evaluating", total=4)
        now[0] = 10.0
        progress.update(task, description="gptq-w4 ethics")  # a new step: a line
        now[0] = 20.0
        progress.advance(task)  # < 60 s since the last line: quiet
        now[0] = 90.0
        progress.advance(task)  # a minute passed: due, printed at the next advance of the step
        now[0] = 95.0
        progress.advance(task)
        progress.update(task, description="gptq-w4 ethics")  # the same step: quiet
        now[0] = 100.0
    lines = out.getvalue().splitlines()
    assert lines[0] == "[0:00:10] now: gptq-w4 ethics (0/4)"
    assert lines[1] == "[0:01:35] now: gptq-w4 ethics (3/4, ETA 0:00:31)"
    assert lines[2] == "[0:01:40] done: gptq-w4 ethics (3/4; the last step took 90 s)"
    assert len(lines) == 3


def test_a_step_that_ends_after_a_minute_is_not_named_as_the_current_one(monkeypatch):
    """Quantize advances once per variant: the line after a long variant names the next one
    and says how long the finished one took."""
    now = [0.0]
    monkeypatch.setattr("codesign.commandline.progress.time.monotonic", lambda: now[0])
    out = io.StringIO()
    with LineProgress(Console(file=out, width=200)) as progress:
        task = progress.add_task("quantizing", total=3)
        progress.update(task, description="gptq-w4")
        now[0] = 94.0
        progress.advance(task)  # gptq-w4 done after 94 s: no line naming it as current
        progress.update(task, description="gptq-w8")
        now[0] = 146.0
        progress.advance(task)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:00:00] now: gptq-w4 (0/3)",
        "[0:01:34] now: gptq-w8 (1/3, ETA 0:03:08; gptq-w4 took 94 s)",
        "[0:02:26] done: gptq-w8 (2/3; the last step took 52 s)",
    ]


def test_a_ctrl_c_waits_for_the_safe_point_and_a_second_one_does_not():
    before = signal.getsignal(signal.SIGINT)
    with interrupts_at_safe_points() as check:
        check()  # nothing yet
        os.kill(os.getpid(), signal.SIGINT)  # delivered here; only noted
        with pytest.raises(KeyboardInterrupt):
            check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # the user insists: at once
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_a_process_started_with_sigint_blocked_keeps_it_blocked():
    """What search's workers rely on: the parent alone takes Ctrl-C."""
    import subprocess
    import sys

    probe = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
    with sigint_blocked():
        inside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (inside.stdout.strip(), outside.stdout.strip()) == ("True", "False")
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # unblocked again
