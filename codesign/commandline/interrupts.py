"""How a command ends: bad input one line and its exit code, Ctrl-C one line saying what was
kept and 130, only a bug a traceback; and where a Ctrl-C may land (safe points, blocked)."""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.markup import escape

from codesign.commandline.output import err_console
from codesign.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    CodesignError,
    chain,
)
from codesign.launch import new_command, note_sigint, said_interrupted, sigint_seen

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
