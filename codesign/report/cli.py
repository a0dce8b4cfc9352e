"""``python -m codesign.report``: figures and tables of per-variant and ensemble trust, from
the measurement store alone (no model runs)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from codesign.commandline.interrupts import on_interrupt, run_cli
from codesign.commandline.output import console
from codesign.commandline.parsers import add_store_option, make_parser
from codesign.paths import writable_folder
from codesign.scoring.profiles import DEFAULT_PROFILE, PROFILES
from codesign.validation import Number

DEFAULT_OUT = "results/report"
DESCRIPTION = """\
Write figures and tables of what the store measured, naming the model, its baseline and the
data (real or stand-in, item counts) in every file:

  fig1_variants.png  variants.md  variants.csv    each variant vs the dense baseline
  fig3_ensembles.png ensembles.md ensembles.csv   best precision ensembles vs dense and
                                                  the best single variant per method
  README.md                                       what is where, and the headline numbers

Example:
  python -m codesign.report --store sqlite:///codesign.db --out results/report
"""


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("report", DESCRIPTION)
    add_store_option(p)
    p.add_argument(
        "--model",
        default=None,
        help="stored model name (default: the only model in the store)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help="folder for the report files (default: %(default)s)",
    )
    p.add_argument(
        "--scoring",
        default=DEFAULT_PROFILE,
        choices=PROFILES.names(),
        help="scoring profile that parses the stored outputs and scores them: comptrust (the "
        "paper's configuration), decodingtrust (upstream) or strict (default: %(default)s)",
    )
    p.add_argument(
        "--top",
        type=Number(int, 1, 1_000),
        default=3,
        help="ensembles listed per method and overall in ensembles.md (default: %(default)s)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    writable_folder(args.out, "--out")
    on_interrupt("nothing was written (an interrupted report leaves no folder it made behind)")
    # the report's modules (scipy, matplotlib, pandas) load after the arguments are checked:
    # a typo is refused before seconds of imports
    from codesign.report.build import write_report
    from codesign.report.data import load_report_data
    from codesign.report.summary import published_table, search_space_note, summary_table

    with console.status("reading the store") as status:
        data = load_report_data(args.store, args.model, status.update, args.scoring)
        status.update("writing figures and tables")
        cmp, files = write_report(data, args.out, args.top)
    console.print(summary_table(data, cmp))  # piped: the wide console keeps columns
    if note := search_space_note(cmp):
        console.print(note, highlight=False)
    console.print(published_table())
    console.print(f"wrote {len(files)} files to {args.out}/:")
    for path in files.values():
        console.print(f"  {path}", highlight=False)
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
