"""Number formatting and Markdown building blocks shared by the report's tables and index."""

from __future__ import annotations

import math
from collections.abc import Sequence

from codesign.report.data import MEASURED, ReportData


def missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def score(x: float | None) -> str:
    """A 0–100 score with one decimal."""
    return "n/a" if missing(x) else f"{x:.1f}"


def delta(x: float | None) -> str:
    """A signed gap in points, e.g. '+3.1' or '−0.4'."""
    if missing(x):
        return "n/a"
    if abs(x) < 0.05:
        return "±0.0"
    return f"{x:+.1f}".replace("-", "−")


def percent(rate: float | None) -> str:
    """A 0–1 rate as a percentage."""
    return "n/a" if missing(rate) else f"{100 * rate:.1f}%"


def fraction(x: float | None) -> str:
    return "n/a" if missing(x) else f"{x:.3f}"


def with_delta(value: float | None, gap: float | None, fmt=score) -> str:
    """'72.5 (−3.0)'; the gap left out when it is not defined (e.g. the dense row itself)."""
    return fmt(value) if missing(gap) else f"{fmt(value)} ({delta(gap)})"


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] | None = None
) -> str:
    """A GitHub Markdown table; the ``right`` columns (default: all but the first) are
    right-aligned, for numbers."""
    right = range(1, len(headers)) if right is None else right
    align = ["---:" if i in right else ":---" for i in range(len(headers))]
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def provenance_block(data: ReportData) -> str:
    """The lines every Markdown file opens with: model, baseline, measured, data per suite."""
    rows = [
        [s.title, s.name, s.data_kind, str(s.n_items), s.provenance] for s in data.suites.values()
    ]
    return "\n".join(
        [
            f"- **Model:** {data.model}",
            f"- **Baseline:** {data.baseline}",
            f"- **Variants:** {', '.join(m.label for m in data.members)}",
            f"- **Store:** `{data.store}` — {MEASURED}",
            f"- **Trust:** {data.trust_label}; scores 0–100, higher is better",
            f"- **Scoring profile:** {data.scoring}",
            "",
            "Data per suite (items scored = items every variant answered):",
            "",
            md_table(["suite", "name", "data", "items scored", "provenance"], rows, right=[3]),
        ]
    )
