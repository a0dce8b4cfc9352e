"""Start a command so that Ctrl-C is one line and exit 130 even while modules still import.

Kept free of heavy imports: torch, transformers and optuna take seconds to import, and an
interrupt during those seconds must not print a traceback either.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn


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
    try:
        entry = importlib.import_module(module).entry
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while starting: nothing was done\n")
        raise SystemExit(130) from None
    finish(entry(argv))


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
