"""Start a command so that Ctrl-C is one line and exit 130 even while modules still import.

Kept free of heavy imports: torch, transformers and optuna take seconds to import, and an
interrupt during those seconds must not print a traceback either.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

_SEEN = {"sigint": False, "said": False, "watching": False}
STARTING = "interrupted while starting: nothing was done"


def sigint_seen() -> bool:
    """Whether this process has had a Ctrl-C (then whatever error follows is its consequence)."""
    return _SEEN["sigint"]


def note_sigint() -> None:
    _SEEN["sigint"] = True


def _on_sigint(signum: int, frame: Any) -> None:
    note_sigint()
    raise KeyboardInterrupt


def _quiet_interrupts(hook: Any) -> Any:
    """``sys.excepthook`` without a KeyboardInterrupt's traceback. A C extension whose import a
    Ctrl-C lands in (numpy's ``import_array``) prints the pending interrupt through this hook
    (``PyErr_Print``) and raises ImportError in its place: the command's one line says it."""

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            note_sigint()
            return
        hook(kind, value, tb)

    return excepthook


def new_command() -> None:
    """A command starts (tests run many in one process): no Ctrl-C had yet, nothing said. An
    interrupt before this point raised KeyboardInterrupt where it landed."""
    _SEEN["sigint"] = _SEEN["said"] = False


def said_interrupted() -> None:
    """The command has printed its one interrupt line (nothing more is said at exit)."""
    _SEEN["said"] = True


def watch_sigint() -> None:
    """Ctrl-C raises KeyboardInterrupt as usual and is also recorded, so an interrupt that a
    library turned into its own error (an ImportError mid-import, SQLite's "interrupted") is
    still reported as one; an interrupt that ends the interpreter before any line was said
    (in the packages ``python -m`` imports before the launcher) says the starting line at
    exit. A process started with SIGINT ignored (a background job) keeps ignoring it, and
    stops on SIGTERM all the same (through the same handlers, keeping what is stored)."""
    if _SEEN["watching"]:
        return
    _SEEN["watching"] = True
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _term_as_interrupt)
    sys.excepthook = _quiet_interrupts(sys.excepthook)
    atexit.register(_say_at_exit)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_sigint)


def _term_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (``timeout``, ``kill``, job schedulers, process managers) stops a command as
    Ctrl-C does: delivered as SIGINT to this process, so the same handlers stop its workers,
    keep what is stored and say what was kept (exit 130). Where SIGINT is blocked for a
    moment (a worker being started), it waits until then, as a Ctrl-C would. Where SIGINT is
    ignored (a background job), the interrupt is raised here."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        note_sigint()
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def _say_at_exit() -> None:
    """Interpreter exit after a Ctrl-C nothing has answered yet: the one line, and 130 (every
    answered interrupt leaves through ``finish``, which skips this)."""
    if _SEEN["sigint"] and not _SEEN["said"]:
        sys.stderr.write(STARTING + "\n")
        sys.stderr.flush()
        os._exit(130)


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` came of a Ctrl-C: a KeyboardInterrupt in its chain, or one had by this
    process (a library may have replaced it with an error of its own, chain and all)."""
    from codesign.errors import chain

    return any(isinstance(c, KeyboardInterrupt) for c in chain(exc)) or sigint_seen()


def quiet_libraries() -> None:
    """Libraries' own progress bars and log lines, off in a log file or a pipe (a live bar
    there becomes pages of carriage-return lines; codesign's progress says where work is).
    Set before anything imports them: tqdm reads ``TQDM_*`` when it is imported, and
    llm-compressor configures its logger on import. ``CODESIGN_VERBOSE=1`` keeps them all."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("CODESIGN_VERBOSE"):
        return
    os.environ.setdefault("LLM_COMPRESSOR_LOG_DISABLED", "true")  # per-layer INFO lines
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")  # llm-compressor's, transformers' bars


def launch(module: str, argv: Sequence[str] | None = None) -> NoReturn:
    """Import ``module`` and exit with its ``entry(argv)``'s status."""
    quiet_libraries()
    watch_sigint()
    loaded = load_entry(module)
    finish(loaded if isinstance(loaded, int) else loaded(argv))


def load_entry(module: str) -> Any:
    """``module``'s ``entry``, or the exit status after one line when it could not be had: Ctrl-C
    while it imported (130; also when a library turned the interrupt into an ImportError), or
    bad input found while importing (a CodesignError, an extension that does not load: its exit
    code). Shared by ``python -m codesign.<stage>`` and the ``codesign`` console script."""
    from codesign.errors import CodesignError

    try:
        return importlib.import_module(module).entry
    except BaseException as exc:
        if isinstance(exc, CodesignError) and not interrupted(exc):
            sys.stderr.write(f"error: {exc}\n")
            return exc.exit_code
        if not interrupted(exc):
            raise
        sys.stderr.write(STARTING + "\n")
        said_interrupted()
        return 130


def finish(code: int) -> NoReturn:
    """Exit with ``code``. After Ctrl-C (130) the interpreter's shutdown is skipped: native
    worker threads that a library started (GPTQModel's, mid-quantization) can abort it ("terminate
    called without an active exception", exit 134). Everything stored is already committed, and
    SQLite recovers its WAL on the next open."""
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise SystemExit(code)
