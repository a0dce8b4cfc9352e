"""The progress every long command shows: a live bar in a terminal, timed lines with an ETA in
a file or a pipe."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from codesign.commandline.output import console


def progress_bar() -> Progress | LineProgress:
    """The progress every long command shows: a live bar in a terminal; in a file or a pipe,
    a line whenever the step changes and at least every minute, with the time so far and an
    ETA (a log of a long run then says where it is)."""
    if console.is_terminal:
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
    return LineProgress(console)


class LineProgress:
    """The progress bar's interface (add_task, update, advance, console) as printed lines."""

    EVERY_S = 60.0

    def __init__(self, out: Console) -> None:
        self.console = out
        self._tasks: dict[int, dict] = {}

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for task in self._tasks.values():
            if exc[0] is None:
                took = time.monotonic() - task["step_start"]
                self._line(task, "done", f"; the last step took {took:.0f} s")

    def add_task(self, description: str, total: float | None = None) -> int:
        now = time.monotonic()
        task_id = len(self._tasks)
        self._tasks[task_id] = {
            "description": description, "total": total, "done": 0.0, "start": now,
            "step_start": now, "printed": 0.0,
        }  # fmt: skip
        return task_id

    def update(self, task_id: int, *, description: str | None = None) -> None:
        task = self._tasks[task_id]
        if description is not None and description != task["description"]:
            now = time.monotonic()
            took = ""
            if task["done"]:  # the step that ended: its time, so a log reads per step
                took = f"; {task['description']} took {now - task['step_start']:.0f} s"
            task["description"], task["step_start"], task["due"] = description, now, False
            self._line(task, "now", took)

    def advance(self, task_id: int, n: float = 1) -> None:
        """Counts work done. A periodic line waits for the next advance within the same step:
        an advance that ends a step is usually followed by an update naming the next one,
        and a line then would name the step that just finished as the current one."""
        task = self._tasks[task_id]
        task["done"] += n
        if time.monotonic() - task["printed"] >= self.EVERY_S:
            if task.get("due"):
                self._line(task, "now")
            task["due"] = True

    def _line(self, task: dict, state: str, suffix: str = "") -> None:
        now = time.monotonic()
        task["printed"], task["due"] = now, False
        elapsed = now - task["start"]
        done, total = task["done"], task["total"]
        count = f"{done:g}/{total:g}" if total else f"{done:g}"
        eta = ""
        if state != "done" and total and 0 < done < total:
            eta = f", ETA {_clock(elapsed / done * (total - done))}"
        self.console.print(
            f"[{_clock(elapsed)}] {state}: {task['description']} ({count}{eta}{suffix})",
            highlight=False,
            markup=False,
        )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
