"""Fig. 1 view: every quantized variant's score (top row) and refusal rate (bottom row) per
trust perspective and MMLU mode, with the dense baseline as a dashed reference line."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from codesign.report import style
from codesign.report.data import TRUST, ReportData
from codesign.scoring.stored import Member

GROUP_GAP = 0.8  # extra space between methods on the x axis
MAX_VALUE_LABELS = 9  # above this many bars, values are left to the tables


def _positions(members: list[Member]) -> list[float]:
    xs, x, prev = [], 0.0, None
    for m in members:
        if prev is not None and m.method != prev:
            x += GROUP_GAP
        xs.append(x)
        x += 1.0
        prev = m.method
    return xs


def _tick(m: Member) -> str:
    return m.label.partition("-")[2] or m.label


def _panel(ax: Axes, data: ReportData, col: str, metric: str, quantized: list[Member]) -> None:
    table = data.wide(metric)
    scale = 1.0 if metric == "score" else 100.0
    xs = _positions(quantized)
    values = [table.at[m.label, col] * scale for m in quantized]
    all_bits = [m.bits for m in quantized]
    colors = [
        style.bit_shade(style.method_color(m.method, data.methods), m.bits, all_bits)
        for m in quantized
    ]
    heights = [0.0 if math.isnan(v) else v for v in values]
    ax.bar(xs, heights, color=colors, width=0.8, edgecolor="white", linewidth=0.5)
    top = 100.0 if metric == "score" else max([5.0, *(v for v in values if v == v)]) * 1.25
    dense = data.dense
    ref = table.at[dense.label, col] * scale if dense else math.nan
    if not math.isnan(ref):
        top = max(top, ref * 1.25) if metric != "score" else top
        ax.axhline(ref, **style.DENSE_LINE, zorder=3)
        ax.text(
            1.01,
            ref,
            f"{ref:.1f}",
            transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left",
            va="center",
            fontsize=7.5,
            color="#222222",
        )
    ax.set_ylim(0, top * (1.08 if metric == "score" else 1.0))
    if len(quantized) <= MAX_VALUE_LABELS:
        for x, v in zip(xs, values, strict=True):
            text = "n/a" if math.isnan(v) else f"{v:.0f}" if metric == "score" else f"{v:.1f}"
            # above the dense line, on white: the line struck through "51" so it read "31"
            ax.text(
                x,
                0 if math.isnan(v) else v,
                text,
                ha="center",
                va="bottom",
                fontsize=7,
                zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9},
            )
    ax.set_xticks(xs, [_tick(m) for m in quantized], fontsize=8)
    if len(quantized) > 6:
        ax.tick_params(axis="x", labelrotation=90)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _method_labels(ax: Axes, quantized: list[Member]) -> None:
    xs = _positions(quantized)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for method in dict.fromkeys(m.method for m in quantized):
        sel = [x for x, m in zip(xs, quantized, strict=True) if m.method == method]
        ax.text(
            sum(sel) / len(sel),
            -0.2,
            method.upper(),
            transform=trans,
            ha="center",
            va="top",
            fontsize=8.5,
            fontweight="bold",
        )


def _not_refusable(ax: Axes) -> None:
    ax.cla()
    ax.text(
        0.5,
        0.5,
        "log-likelihood:\ncannot refuse",
        ha="center",
        va="center",
        fontsize=9,
        color="#555555",
        transform=ax.transAxes,
    )
    ax.set_axis_off()


def figure_variants(data: ReportData, path: Path) -> Path:
    """Write ``fig1_variants.png``: scores and refusal rates per variant and suite."""
    order = data.methods
    quantized = sorted(
        (m for m in data.members if m.method != "dense"),
        key=lambda m: (order.index(m.method), -m.bits, m.seed),
    )
    cols = list(data.wide("score").columns)
    per_panel = max(2.3, 0.34 * len(quantized) + 0.9)
    width = per_panel * len(cols) + 0.8
    fig = Figure(figsize=(width, 6.4))
    axes = fig.subplots(2, len(cols), squeeze=False)
    for j, col in enumerate(cols):
        info = data.suites.get(col)
        sub = info.data_line if info else f"mean of {len(data.trust_suites)} perspectives"
        axes[0][j].set_title(f"{'Trust (mean)' if col == TRUST else info.title}\n{sub}", fontsize=9)
        _panel(axes[0][j], data, col, "score", quantized)
        if info is not None and not info.can_refuse:
            _not_refusable(axes[1][j])
        else:
            _panel(axes[1][j], data, col, "refusal_rate", quantized)
            _method_labels(axes[1][j], quantized)
    axes[0][0].set_ylabel("score (0–100, higher is better)")
    axes[1][0].set_ylabel("refusal rate (%)")
    handles = [
        Patch(color=style.method_color(m, data.methods), label=m.upper()) for m in data.methods
    ]
    handles.append(Line2D([0], [0], **style.DENSE_LINE, label="dense (value at right)"))
    fig.legend(
        handles=handles,
        loc="upper right",
        ncol=len(handles),
        fontsize=8.5,
        frameon=False,
        bbox_to_anchor=(1.0, 1.0),
    )
    fig.suptitle(
        f"Per-variant trust and refusal — {data.model} (baseline: {data.baseline})",
        x=0.01,
        ha="left",
        fontsize=12,
    )
    fig.subplots_adjust(hspace=0.55, wspace=0.45, top=0.86, bottom=0.1, left=0.05, right=0.97)
    style.footer(
        fig,
        data,
        [
            "Each variant scored from its own labels (no voting). Bars: quantized variants, "
            "darker = more bits; dashed line: the dense model. Numbers: variants.md / .csv.",
            "Refusal rate as the scoring profile defines it for each suite (e.g. fairness counts "
            "every answer other than yes/no, as DecodingTrust does); unparseable outputs are in "
            "variants.md (no valid answer).",
        ],
        width,
    )
    return style.save(fig, path)
