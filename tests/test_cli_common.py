"""Progress that reads in a log file: a line per step with the time so far and an ETA."""

from __future__ import annotations

import io

from rich.console import Console

from codesign.cli_common import LineProgress


def test_piped_progress_prints_a_line_per_step_with_an_eta(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("codesign.cli_common.time.monotonic", lambda: now[0])
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
    monkeypatch.setattr("codesign.cli_common.time.monotonic", lambda: now[0])
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
