"""User-facing errors and the exit codes every codesign command shares (README: Exit codes)."""

from __future__ import annotations

from collections.abc import Iterator

EXIT_DONE = 0
EXIT_INTERNAL = 1  # a bug: the only exit that prints a traceback
EXIT_BAD_INPUT = 2  # a bad argument, file or store, caught before any work starts
EXIT_INFEASIBLE = 3  # the search ran and no configuration met the constraints
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class CodesignError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = EXIT_BAD_INPUT


class Infeasible(CodesignError):
    """The work ran, and nothing met the constraints (which constraint excluded what)."""

    exit_code = EXIT_INFEASIBLE


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, outermost first (``raise … from``, then the exception being
    handled when it was raised): libraries wrap a cause (a Ctrl-C, a lost connection) in
    errors of their own."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__
