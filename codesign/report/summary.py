"""What ``python -m codesign.report`` prints: the headline table of what was measured, and
comp-trust's published numbers apart from it."""

from __future__ import annotations

from rich.table import Table

from codesign.report import fmt, published
from codesign.report.data import TRUST, ReportData
from codesign.report.markdown import HELD_OUT_HEAD, held_out_cell
from codesign.report.selection import Comparison, reference_single
from codesign.scoring.variants import UNANSWERED


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


def search_space_note(cmp: Comparison) -> str | None:
    """Where the best ensemble mixes quantization methods: the search builds ensembles within
    one method, so it cannot find this one (said rather than left to be discovered)."""
    best = cmp.best_overall()
    if best is None:
        return None
    methods = {label.partition("-")[0] for label in best.members.split("+")} - {"dense"}
    if len(methods) < 2:
        return None
    return (
        f"note: the best ensemble, {best.name}, mixes {' and '.join(sorted(methods))}; "
        "`python -m codesign.search` builds ensembles within one method (with the dense model), "
        "so this one is outside its space"
    )


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
