"""The ``codesign`` console script: each stage of the flow as a subcommand."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# stage name -> (module with an ``entry(argv)`` function, one-line help)
STAGES = {
    "measurements": ("codesign.measurements.cli", "quantize, profile, list and evaluate variants"),
    "scoring": ("codesign.scoring.cli", "each stored variant's scores under a scoring profile"),
    "simulators": ("codesign.simulators.cli", "PPA of multi-precision compute units and schedules"),
    "report": ("codesign.report.cli", "figures and tables of per-variant and ensemble trust"),
    "search": ("codesign.search.cli", "Pareto-optimal deployment configurations (Optuna)"),
}

USAGE = "usage: codesign STAGE [options]   (STAGE --help for each)\n\nstages:\n" + "\n".join(
    f"  {name:<14}{help_}" for name, (_, help_) in STAGES.items()
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        _print_usage()
        return 0 if args else 2
    stage, rest = args[0], args[1:]
    if stage not in STAGES:
        known = ", ".join(STAGES)
        print(
            f"error: unknown stage {stage!r} (stages: {known}; see codesign --help)",
            file=sys.stderr,
        )
        return 2
    from codesign.launch import load_entry

    loaded = load_entry(STAGES[stage][0])  # an error or Ctrl-C while importing: one line
    if isinstance(loaded, int):
        return loaded
    from codesign.commandline.parsers import invoked_as_console_script  # (the stage imported it)

    invoked_as_console_script()
    return loaded(rest)


def _print_usage() -> None:
    """The usage text; a reader that closed the pipe early (``| head``) is not an error."""
    try:
        print(USAGE, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit


def script() -> None:
    """The ``codesign`` console script."""
    from codesign.launch import finish, quiet_libraries, watch_sigint

    quiet_libraries()
    watch_sigint()
    finish(main())


if __name__ == "__main__":
    script()
