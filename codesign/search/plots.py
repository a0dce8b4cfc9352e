"""PNG plots of the Pareto front: trust against latency and against energy, coloured by area.

Every feasible trial is drawn faintly behind the Pareto configurations, which are numbered as
in pareto.json; axes say which numbers are measured and which modelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend
from matplotlib.colors import LogNorm  # noqa: E402

PLOTS = {
    "latency_ms": ("front-trust-latency.png", "latency per request (ms, modelled)"),
    "energy_mj": ("front-trust-energy.png", "energy per request (mJ, modelled)"),
}


def plot_fronts(
    out: Path, rows: list[dict[str, Any]], others: list[dict[str, Any]], title: str
) -> list[Path]:
    """One PNG per cost objective; `others` are the feasible non-Pareto trials' metrics."""
    written = []
    areas = [r["area_mm2"] for r in rows if r["area_mm2"]]
    norm = LogNorm(min(areas), max(areas)) if areas and min(areas) < max(areas) else None
    for key, (name, label) in PLOTS.items():
        fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
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
            c=[r["area_mm2"] for r in rows],
            cmap="viridis",
            norm=norm,
            s=40,
            edgecolors="k",
            linewidths=0.4,
            label="Pareto-optimal (number as in pareto.json)",
        )
        for r in rows[:30]:
            ax.annotate(
                str(r["n"]),
                (r[key], r["trust"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        fig.colorbar(points, ax=ax, label="unit area (mm², modelled)")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("trust (0–100, measured: stored predictions, voting)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        path = out / name
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
