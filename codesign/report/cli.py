"""``python -m codesign.report``: figures and tables of per-variant and ensemble trust, from
the measurement store alone (no model runs)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from codesign.cli_common import (
    add_store_option,
    console,
    make_parser,
    on_interrupt,
    run_cli,
)
from codesign.ensembles.scores import UNANSWERED
from codesign.measurements.evaluate.profiles import DEFAULT_PROFILE, PROFILES
from codesign.paths import writable_folder
from codesign.report import fmt, published
from codesign.report.build import write_report
from codesign.report.data import TRUST, ReportData, load_report_data
from codesign.report.markdown import HELD_OUT_HEAD, held_out_cell
from codesign.report.selection import Comparison, reference_single
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


def summary_table(data: ReportData, cmp: Comparison) -> Table:
    """Dense, best single variant per method and best ensemble per group, in trust points."""
    table = Table(
        title=f"Trust report — {data.model} (baseline: {data.baseline})",
        caption=f"measured, from {data.store}; {data.data_summary()}; {data.trust_label}; "
        f"scoring: {data.scoring}",
        caption_justify="left",
        title_justify="left",
    )
    for i, col in enumerate(["configuration", "members", "trust", "Δ dense", "Δ best single"]):
        table.add_column(col, justify="right" if i >= 2 else "left", overflow="fold")
    table.add_column("refused or no valid", justify="right")
    table.add_column(HELD_OUT_HEAD, justify="right")
    picks = ([cmp.dense] if cmp.dense else []) + list(cmp.singles.values())
    picks += [group[0] for group in cmp.ensembles.values()]
    for pick in picks:
        ref = reference_single(cmp.singles, pick.group) if pick.role == "ensemble" else None
        table.add_row(
            pick.title,
            pick.name,
            fmt.score(pick.get(TRUST)),
            "—" if pick.role == "dense" else fmt.delta(cmp.delta(pick, cmp.dense)),
            fmt.delta(cmp.delta(pick, ref)) if ref else "—",
            fmt.percent(pick.get(UNANSWERED)),
            held_out_cell(cmp, pick),
        )
    return table


def published_table() -> Table:
    """Comp-trust's published LLaMA-2-13b-chat numbers, apart from everything measured."""
    table = Table(
        title=f"Published reference (not measured here): {published.MODEL}",
        caption=f"{published.SOURCE}; mean over seeds (min–max) where there are several",
        caption_justify="left",
        title_justify="left",
    )
    cols = ("trust", *published.SCORES)
    for i, col in enumerate(("configuration", "seeds", *cols)):
        table.add_column(col, justify="right" if i else "left")
    for _, row in published.published_summary().iterrows():
        cells = (published.cell(row, c) for c in cols)
        table.add_row(row["configuration"], str(row["seeds"]), *cells)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    writable_folder(args.out, "--out")
    on_interrupt("nothing was written (an interrupted report leaves no folder it made behind)")
    with console.status("reading the store") as status:
        data = load_report_data(args.store, args.model, status.update, args.scoring)
        status.update("writing figures and tables")
        cmp, files = write_report(data, args.out, args.top)
    console.print(summary_table(data, cmp))  # piped: cli_common's wide console keeps columns
    console.print(published_table())
    console.print(f"wrote {len(files)} files to {args.out}/:")
    for path in files.values():
        console.print(f"  {path}", highlight=False)
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
