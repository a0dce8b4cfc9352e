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
        progress.advance(task)  # a minute passed: a line with the ETA
        progress.update(task, description="gptq-w4 ethics")  # the same step: quiet
        now[0] = 100.0
    lines = out.getvalue().splitlines()
    assert lines[0] == "[0:00:10] now: gptq-w4 ethics (0/4)"
    assert lines[1] == "[0:01:30] now: gptq-w4 ethics (2/4, ETA 0:01:30)"
    assert lines[2] == "[0:01:40] done: gptq-w4 ethics (2/4)"
    assert len(lines) == 3
