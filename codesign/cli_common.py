"""What every codesign command line shares: the store option, one-line errors, exit codes
(errors.py) and output that reads the same in a terminal, a file or a pipe."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from codesign.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    CodesignError,
    chain,
)
from codesign.launch import new_command, note_sigint, said_interrupted, sigint_seen
from codesign.paths import default_store_url
from codesign.validation import Number

# piped or redirected output has no terminal width: print tables whole instead of folding
# their columns at rich's default 80 (a reader or a script sees every column intact)
PIPED_WIDTH = 200


def _stdout_console() -> Console:
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(soft_wrap=True, width=PIPED_WIDTH if piped else None)


console = _stdout_console()
err_console = Console(stderr=True, soft_wrap=True, highlight=False, width=PIPED_WIDTH)

# how the user started the command: ``python -m codesign.search`` or ``codesign search``
_PREFIX = {"value": "python -m codesign."}


def invoked_as_console_script() -> None:
    """Called by the ``codesign`` script: usage lines then say ``codesign search``."""
    _PREFIX["value"] = "codesign "


def prog_name(stage: str) -> str:
    """The program name usage lines show for ``stage`` (e.g. ``search``)."""
    return f"{_PREFIX['value']}{stage}"


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=default_store_url(),
        metavar="URL",
        help="SQLAlchemy URL of the measurement store: a SQLite file by default "
        "(sqlite:///codesign.db, or $CODESIGN_STORE), or postgresql://user@host/db "
        "(default: %(default)s)",
    )


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line (and exit code 2), like our own errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        err_console.print(f"[red]error:[/red] {escape(message)} (see {self.prog} --help)")
        raise SystemExit(EXIT_BAD_INPUT)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and shows every option's default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if isinstance(action.type, Number) and "[" not in text:
            text += f" [{action.type.describe()}]"
        empty = action.default is None or action.default is False or action.default == []
        if "%(default)" in text or "default:" in text or empty:
            return text
        if action.option_strings and action.default is not argparse.SUPPRESS:
            text += " (default: %(default)s)"
        return text


def make_parser(stage: str, description: str) -> argparse.ArgumentParser:
    """The parser of ``stage`` (``search``, ``measurements``…): one-line usage errors, defaults
    shown in --help, usage named as the user started it."""
    return _Parser(prog=prog_name(stage), description=description, formatter_class=HelpFormatter)


# what an interrupted command says it kept (each long command sets its own)
_DEFAULT_KEPT = "stored work is kept; run the same command to resume"
_KEPT: dict[str, str | Callable[[], str]] = {"note": _DEFAULT_KEPT}


def on_interrupt(note: str | Callable[[], str]) -> None:
    """What the interrupt line says was kept: a text, or a function asked at interrupt time
    (e.g. "412 predictions are stored in …")."""
    _KEPT["note"] = note


def interrupt_note() -> str:
    """What the interrupt line would say now (a caller may wrap it: the search names the
    measuring phase that was running)."""
    return _kept()


def _kept() -> str:
    note = _KEPT["note"]
    if callable(note):
        try:
            return note()
        except Exception:  # noqa: BLE001 - the store may be mid-write; say the general thing
            return _DEFAULT_KEPT
    return note


class _NoInterruptTracebacks(logging.Filter):
    """Optuna logs a trial stopped by Ctrl-C as a failure with a traceback, then "Trial n failed
    with value None.": drop both (the interrupt line says what happened)."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt):
            self.interrupted = True
            return False
        return not (self.interrupted and "failed with value None" in record.getMessage())


@contextmanager
def quiet_interrupt_logs() -> Iterator[None]:
    """While inside, Optuna does not log a Ctrl-C'd trial with a traceback (the command's one
    interrupt line says it)."""
    quiet = _NoInterruptTracebacks()
    optuna_log = logging.getLogger("optuna.study._optimize")
    optuna_log.addFilter(quiet)
    try:
        yield
    finally:
        optuna_log.removeFilter(quiet)


@contextmanager
def interrupts_at_safe_points() -> Iterator[Callable[[], None]]:
    """Inside, Ctrl-C only sets a flag, and the check this yields raises KeyboardInterrupt where
    the caller calls it (between Optuna trials, in a watch loop). Why: Python raises the
    interrupt at whatever bytecode runs, and when that is a garbage-collection callback
    (SQLAlchemy's, while Optuna's storage churns) it prints "Exception ignored" and drops it,
    so the command ran on. A second Ctrl-C raises at once. Outside the main thread (no signal
    handlers there) the check does nothing."""
    seen = {"count": 0}

    def check() -> None:
        if seen["count"]:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def note(signum: int, frame: object) -> None:
        note_sigint()
        seen["count"] += 1
        if seen["count"] > 1:
            raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, note)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """Inside, SIGINT waits (it is delivered on leaving). A process started inside inherits the
    blocked signal for its whole life: a worker that its parent stops (search's) never takes a
    Ctrl-C mid-import or mid-write, where it would print a traceback or be lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run a command: bad input is one line and exit 2 (or the error's own code), Ctrl-C one
    line and 130, and only a bug prints a traceback (exit 1)."""
    _KEPT["note"] = _DEFAULT_KEPT
    new_command()
    with quiet_interrupt_logs():
        return _run(main, argv)


def _run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    try:
        return main(argv)
    except CodesignError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")  # "[@URL]" is text
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print(f"interrupted: {_kept()}")
        said_interrupted()
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        if was_interrupted(exc):  # Ctrl-C that a library turned into its own error
            err_console.print(f"interrupted: {_kept()}")
            said_interrupted()
            return EXIT_INTERRUPTED
        from codesign.store import store_refusal, unreachable_error

        if (gone := unreachable_error(exc)) is not None:  # an outage, not a bug: no traceback
            err_console.print(f"[red]error:[/red] {escape(str(gone))}")
            return gone.exit_code
        if (refused := store_refusal(exc)) is not None:  # locked or read-only: not a bug
            err_console.print(f"[red]error:[/red] {escape(str(refused))}")
            return refused.exit_code
        traceback.print_exc()
        err_console.print(
            "[red]internal error[/red]: this is a bug in codesign, not in your input; please "
            "report it to the maintainers with the command line and the traceback above"
        )
        return EXIT_INTERNAL


@contextmanager
def stdout_for_json() -> Iterator[None]:
    """``--json``: stdout carries the JSON document alone; progress and notes go to stderr."""
    console.file = sys.stderr
    try:
        yield
    finally:
        console.file = None  # back to the current sys.stdout


def print_json(data: object) -> None:
    """One JSON document on stdout (numbers as numbers; NaN and infinity as null)."""
    sys.stdout.write(json.dumps(_finite(data), indent=2, default=str) + "\n")


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def was_interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C caused ``exc``: this process had one (launch.sigint_seen: a library may
    have turned it into its own error, e.g. numpy's ImportError mid-import), or SQLite answered
    an interrupt during a query with ``OperationalError('interrupted')``, which SQLAlchemy and
    Optuna wrap in their own errors."""
    if sigint_seen():
        return True
    for cause in chain(exc):
        if isinstance(cause, KeyboardInterrupt):
            return True
        for error in (cause, getattr(cause, "orig", None)):
            if isinstance(error, sqlite3.OperationalError) and str(error) == "interrupted":
                return True
    return False


def parse_list(text: str, what: str, cast=str) -> list:
    """Split a comma list (``gptq,awq`` or ``3,4,8``) with a one-line error on bad items."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise CodesignError(f"no {what} given")
    try:
        return [cast(t) for t in items]
    except ValueError:
        raise CodesignError(f"bad {what} list {text!r}") from None


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


def megabytes(n: int | None) -> str:
    """Bytes as MB for tables (a dash when unknown)."""
    return "–" if n is None else f"{n / 2**20:,.1f}"
