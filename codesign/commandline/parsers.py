"""Command-line parsers every stage shares: one-line usage errors (exit 2), defaults and ranges
in --help, the store option, comma lists, usage named as the user started the command."""

from __future__ import annotations

import argparse

from rich.markup import escape

from codesign.commandline.output import err_console
from codesign.errors import (
    EXIT_BAD_INPUT,
    CodesignError,
)
from codesign.paths import default_store_url
from codesign.validation import Number

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


def parse_list(text: str, what: str, cast=str) -> list:
    """Split a comma list (``gptq,awq`` or ``3,4,8``) with a one-line error on bad items."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise CodesignError(f"no {what} given")
    try:
        return [cast(t) for t in items]
    except ValueError:
        raise CodesignError(f"bad {what} list {text!r}") from None
