"""Shared look of the report's figures: colours per method and bit-width, the provenance
footer every figure carries, and saving (Agg, no pyplot state)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from codesign.report.data import MEASURED, ReportData

METHOD_COLORS = {"gptq": "#1f77b4", "awq": "#ff7f0e", "anyprec": "#2ca02c", "dense": "#4d4d4d"}
EXTRA_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
MIXED_COLOR = "#2ca02c"
DENSE_LINE = {"color": "#222222", "linestyle": "--", "linewidth": 1.3}
DPI = 110


def method_color(method: str, methods: list[str]) -> str:
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    others = [m for m in methods if m not in METHOD_COLORS]
    return EXTRA_COLORS[others.index(method) % len(EXTRA_COLORS)] if method in others else "#777"


def lighten(color: str, amount: float) -> tuple[float, float, float]:
    """Mix ``color`` with white: 0 keeps it, 1 is white."""
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def bit_shade(color: str, bits: int, all_bits: list[int]) -> tuple[float, float, float]:
    """More bits, darker: the highest bit-width keeps the method's colour."""
    levels = sorted(set(all_bits), reverse=True)
    step = 0.55 / max(len(levels) - 1, 1)
    return lighten(color, step * levels.index(bits))


def footer(fig: Figure, data: ReportData, notes: list[str], width_in: float) -> None:
    """Model, baseline, measured provenance and data per suite, under the axes."""
    lines = [
        f"Model: {data.model} · baseline: {data.baseline} · {MEASURED} · store: {data.store}",
        f"Data (items scored): {data.data_summary()}",
        data.trust_label + f"; scoring: {data.scoring}.",
        *notes,
    ]
    chars = max(int(width_in * 15), 60)
    text = "\n".join(textwrap.fill(line, chars) for line in lines)
    fig.text(0.01, -0.005, text, ha="left", va="top", fontsize=8, color="#333333")


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    return path
