"""What every codesign command line shares: the store option and one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from codesign.errors import CodesignError
from codesign.paths import default_store_url

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


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
        err_console.print(f"[red]error:[/red] {message} (see {self.prog} --help)")
        raise SystemExit(2)


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run a command; user errors and Ctrl-C become one line and a non-zero exit."""
    try:
        return main(argv)
    except CodesignError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted: stored work is kept; run the same command to resume")
        return 130


def parse_list(text: str, what: str, cast=str) -> list:
    """Split a comma list (``gptq,awq`` or ``3,4,8``) with a one-line error on bad items."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise CodesignError(f"no {what} given")
    try:
        return [cast(t) for t in items]
    except ValueError:
        raise CodesignError(f"bad {what} list {text!r}") from None


def progress_bar() -> Progress:
    """The progress bar every long command shows: what runs, how far, time so far."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def megabytes(n: int | None) -> str:
    """Bytes as MB for tables (a dash when unknown)."""
    return "–" if n is None else f"{n / 2**20:,.1f}"
