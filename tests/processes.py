"""Starting commands under test the way a terminal would, whatever started the test run."""

from __future__ import annotations

import signal
import subprocess
import sys


def sigint_default() -> None:
    """``preexec_fn`` of a command the test will Ctrl-C: SIGINT back to its default. A shell
    starts a background job (``make test &``) with SIGINT ignored and every child inherits
    that, so the test's signal would do nothing and the command run to its end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sigint_ignored() -> None:
    """``preexec_fn`` of a command started as a shell's background job (``cmd &``): SIGINT
    ignored, as the shell leaves it, for it and every process it starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def scoring_output(store_url: str, env: dict[str, str]) -> str:
    """What ``python -m codesign.scoring`` prints for the store, whitespace folded (tables wrap)."""
    run = subprocess.run(
        [sys.executable, "-m", "codesign.scoring", "--store", store_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return " ".join(run.stdout.split())
