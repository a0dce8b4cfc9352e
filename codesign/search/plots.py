"""PNG plots of the Pareto front: trust against latency and against energy, coloured by area.

Every feasible trial is drawn faintly behind the Pareto configurations, which are numbered as
in pareto.json; axes say which numbers are measured and which modelled. Drawn with
matplotlib's object API (no pyplot, no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

PLOTS = {
    "latency_ms": ("front-trust-latency.png", "latency per request (ms, modelled)"),
    "energy_mj": ("front-trust-energy.png", "energy per request (mJ, modelled)"),
}
LABELLED = 30  # number at most this many Pareto points, to keep the plot legible


def plot_fronts(
    out: Path, rows: list[dict[str, Any]], others: list[dict[str, Any]], title: str
) -> list[Path]:
    """One PNG per cost objective; `others` are the feasible non-Pareto trials' metrics."""
    areas = [r["area_mm2"] for r in rows]
    norm = LogNorm(min(areas), max(areas)) if min(areas) < max(areas) else None
    written = []
    for key, (name, label) in PLOTS.items():
        fig = Figure(figsize=(8, 5.5), dpi=110)
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.93)
        ax = fig.subplots()
        if others:
            ax.scatter(
                [o[key] for o in others],
                [o["trust"] for o in others],
                s=10,
                c="0.8",
                label="other feasible trials",
            )
        points = ax.scatter(
            [r[key] for r in rows],
            [r["trust"] for r in rows],
            c=areas,
            cmap="viridis",
            norm=norm,
            s=40,
            edgecolors="k",
            linewidths=0.4,
            label="Pareto-optimal (numbered as in pareto.json)",
        )
        for r in rows[:LABELLED]:
            ax.annotate(
                str(r["n"]),
                (r[key], r["trust"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        fig.colorbar(points, ax=ax, label="unit area (mm², modelled)", pad=0.01)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("trust (0–100, measured: stored predictions, voting)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        path = out / name
        fig.savefig(path)
        written.append(path)
    return written
