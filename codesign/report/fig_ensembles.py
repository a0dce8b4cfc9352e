"""Fig. 3 view: the best precision ensembles against the dense model and the best single
variant of each method, one panel per perspective, the dense score as a dashed line."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from codesign.ensembles.ranking import OVERALL
from codesign.report import fmt, style
from codesign.report.data import TRUST, ReportData, title
from codesign.report.selection import Comparison, Pick
from codesign.scoring.variants import NO_VALID, UNANSWERED

PANELS_PER_ROW = 4
INSIDE_FROM = 0.42  # a bar longer than this share of the axis carries its label inside
NO_VALID_EDGE = "#333333"  # dots marking the no-valid-answer share of a refusal bar


def _color(pick: Pick, data: ReportData) -> tuple[float, float, float] | str:
    if pick.role == "dense":
        return style.METHOD_COLORS["dense"]
    base = (
        style.MIXED_COLOR if pick.group == OVERALL else style.method_color(pick.group, data.methods)
    )
    return style.lighten(base, 0.45) if pick.role == "best single" else base


def _label(pick: Pick) -> str:
    return pick.title if pick.role == "dense" else f"{pick.title}\n{pick.short}"


def _value_label(
    ax: Axes, y: int, value: float, gap: float, right: float, solid: bool, beside: bool
) -> None:
    """'78.1 (+2.6)': at the start of a long bar (clear of the dense line, which sits near
    the bars' ends), beside a short one or wherever ``beside`` (a dotted bar)."""
    text = ("n/a" if math.isnan(value) else f"{value:.1f}") + (
        "" if math.isnan(gap) else f" ({fmt.delta(gap)})"
    )
    inside = not beside and not math.isnan(value) and value > INSIDE_FROM * right
    x = 0.0 if math.isnan(value) else value
    ax.text(
        right * 0.02 if inside else x + right * 0.015,
        y,
        text,
        va="center",
        ha="left",
        fontsize=7.5,
        color="white" if inside and solid else "#222222",
        fontweight="bold" if inside else None,
        zorder=4,
        bbox=None if inside else {"facecolor": "white", "edgecolor": "none", "pad": 0.6},
    )


def _no_valid_segment(ax: Axes, y: int, pick: Pick, total: float) -> None:
    """Dots over the share of a refused-or-unanswered bar that had no valid answer at all."""
    part = pick.get(NO_VALID) * 100
    if math.isnan(total) or math.isnan(part) or part <= 0:
        return
    ax.barh(
        y,
        part,
        left=total - part,
        height=0.7,
        color="none",
        hatch="....",
        edgecolor=NO_VALID_EDGE,
        linewidth=0,
        zorder=3,
    )


def _panel(ax: Axes, key: str, picks: list[Pick], cmp: Comparison, data: ReportData) -> None:
    scale = 100.0 if key.endswith("_rate") else 1.0
    values = [p.get(key) * scale for p in picks]
    finite = [v for v in values if not math.isnan(v)]
    dotted = key == UNANSWERED
    right = max([5.0, *finite]) * (1.7 if dotted else 1.3) if scale != 1.0 else 100.0
    for y, (p, v) in enumerate(zip(picks, values, strict=True)):
        single = p.role == "best single"
        ax.barh(
            y,
            0 if math.isnan(v) else v,
            color=_color(p, data),
            height=0.7,
            hatch="///" if single else None,
            edgecolor="white",
            linewidth=0.4,
        )
        if dotted:
            _no_valid_segment(ax, y, p, v)
        gap = math.nan if p.role == "dense" else cmp.delta(p, cmp.dense, key) * scale
        _value_label(ax, y, v, gap, right, solid=not single, beside=dotted)
    dense = cmp.dense.get(key) * scale if cmp.dense else math.nan
    if not math.isnan(dense):
        ax.axvline(dense, **style.DENSE_LINE, zorder=3)
    ax.set_xlim(0, right)
    ax.set_ylim(len(picks) - 0.4, -0.6)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _panel_title(key: str, data: ReportData) -> str:
    if key == UNANSWERED:
        return "Refused or no valid answer (%)\nmean of the trust perspectives"
    if key == TRUST:
        return f"{title(TRUST)} (0–100)\nmean of {len(data.trust_suites)} perspectives"
    info = data.suites[key]
    return f"{info.title} (0–100)\n{info.data_line}"


def figure_ensembles(data: ReportData, cmp: Comparison, path: Path) -> Path:
    """Write ``fig3_ensembles.png``: dense, best singles and best ensembles per perspective."""
    picks = cmp.figure_picks()
    keys = ([TRUST] if data.trust_suites else []) + list(data.suites)
    keys += [UNANSWERED] if data.trust_suites else []
    ncols = min(PANELS_PER_ROW, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    width = 3.2 * ncols + 2.6
    fig = Figure(figsize=(width, nrows * (0.42 * len(picks) + 1.3) + 1.0))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for i, ax in enumerate(axes.flat):
        if i >= len(keys):
            ax.set_axis_off()
            continue
        _panel(ax, keys[i], picks, cmp, data)
        ax.set_title(_panel_title(keys[i], data), fontsize=9)
        ax.set_yticks(range(len(picks)), [_label(p) for p in picks], fontsize=8)
    handles = [
        Patch(
            facecolor=style.lighten("#777777", 0.45),
            hatch="///",
            edgecolor="white",
            label="best single variant",
        ),
        Patch(color="#777777", label="best ensemble"),
        Patch(
            facecolor="white",
            hatch="....",
            edgecolor=NO_VALID_EDGE,
            linewidth=0,
            label="no valid answer (part of the refusal bar)",
        ),
        Line2D([0], [0], **style.DENSE_LINE, label="dense"),
    ]
    fig.legend(handles=handles, loc="upper right", ncol=4, fontsize=8.5, frameon=False)
    best = cmp.best_overall()
    held = cmp.held_out_of(best) if best else None
    headline = (
        f"best ensemble {best.name}: trust {fmt.delta(cmp.delta(best, cmp.dense))} vs dense "
        "in-sample"
        + (f"; picked on half the items, scored on the rest: {held.text()}" if held else "")
        if best and cmp.dense
        else "no ensemble: fewer than two variants stored"
        if not best
        else ""
    )
    fig.suptitle(
        f"Precision ensembles vs dense and the best single variant — {data.model}\n{headline}",
        x=0.01,
        ha="left",
        fontsize=12,
    )
    height = fig.get_figheight()
    fig.subplots_adjust(hspace=0.45, wspace=0.12, top=1 - 1.15 / height, bottom=0.35 / height)
    n = len(data.members)
    style.footer(
        fig,
        data,
        [
            f"Ensembles: subsets (size ≥ 2) of the {n} stored variants voted from stored labels "
            "(majority = the paper's Algorithm 1; weighted = by MMLU log-likelihood accuracy); "
            "best by trust, per method (dense allowed) and overall. In brackets: gap to dense "
            "in points. Ranked on the items they are scored on (in-sample, optimistic). "
            "Tables: ensembles.md / .csv.",
            "Refused or no valid answer: the share of outputs that are REFUSED or unparseable "
            "(INVALID), a variant's own or an ensemble's vote, which is REFUSED where every "
            "member was INVALID (Algorithm 1: nothing left → REFUSED). Dotted: the share where "
            "every output was INVALID.",
        ],
        width,
    )
    return style.save(fig, path)
