"""PNG plots of the four-objective Pareto front, drawn so they do not mislead.

The front is optimal in trust, latency, energy and area together; any 2-D view is a projection
in which a Pareto point can sit behind another (it wins on an axis not shown). So there is one
view of all four objectives at once (a scatter matrix, every pair of objectives), and the two
2-D views say in their titles that they are projections. Every feasible trial is drawn faintly
behind the Pareto configurations, which are numbered as in pareto.json (labels placed by
adjustText so they do not overlap); the unit is shown by marker and named in the legend, area by
colour. Axes say which numbers are measured and which modelled. Drawn with matplotlib's object
API (no pyplot, no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adjustText import adjust_text
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from codesign.search.outcome import number_ranges

PLOTS = {
    "latency_ms": ("front-trust-latency.png", "latency per request (ms, modelled)"),
    "energy_mj": ("front-trust-energy.png", "energy per request (mJ, modelled)"),
}
MATRIX = "front-objectives.png"
AXES = {  # objective -> axis label, log scale
    "trust": ("trust (measured)", False),
    "latency_ms": ("latency ms (modelled)", True),
    "energy_mj": ("energy mJ (modelled)", True),
    "area_mm2": ("area mm² (modelled)", True),
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
LABELLED = 30  # number at most this many Pareto points, to keep the plot legible
PROJECTION = (
    "2-D projection of a 4-objective front (trust, latency, energy, area):\na Pareto point may "
    "look dominated here because it is better on an objective not shown; bars: trust 95% CI"
)


def area_label(rows: list[dict[str, Any]]) -> str:
    """Area's axis and colour-bar label, naming the node it was scaled to."""
    node = next((r.get("area_node_nm") for r in rows if r.get("area_node_nm")), None)
    return "area mm² (modelled" + (f", at {node:g} nm)" if node else ", at each unit's node)")


def unit_markers(rows: list[dict[str, Any]]) -> dict[str, str]:
    """One marker per unit, in order of first appearance on the front."""
    units = list(dict.fromkeys(r["unit"] for r in rows))
    return {u: MARKERS[i % len(MARKERS)] for i, u in enumerate(units)}


def _area_norm(rows: list[dict[str, Any]]) -> LogNorm | None:
    areas = [r["area_mm2"] for r in rows]
    return LogNorm(min(areas), max(areas)) if min(areas) < max(areas) else None


def _front(ax: Axes, rows, others, x: str, y: str, markers, norm, *, size=40, numbers=True):
    """Others in grey, the front by unit marker and area colour; returns the last collection."""
    if others:
        ax.scatter([o[x] for o in others], [o[y] for o in others], s=size / 4, c="0.82", lw=0)
    points = None
    for unit, marker in markers.items():
        mine = [r for r in rows if r["unit"] == unit]
        points = ax.scatter(
            [r[x] for r in mine],
            [r[y] for r in mine],
            c=[r["area_mm2"] for r in mine],
            cmap="viridis",
            norm=norm,
            marker=marker,
            s=size,
            edgecolors="k",
            linewidths=0.4,
        )
    if AXES[x][1]:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # "2×10³ 3×10³ …" ran into each other
    if AXES[y][1]:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, alpha=0.3)
    if numbers:
        number_labels(ax, rows, x, y)
    return points


def _groups(ax: Axes, rows, x: str, y: str, pixels: float = 8.0) -> list[list[dict]]:
    """Rows whose points fall within ``pixels`` of each other on screen: one label each."""
    ax.autoscale_view()
    at = ax.transData.transform([(r[x], r[y]) for r in rows])
    groups: list[tuple[Any, list[dict]]] = []
    for row, xy in zip(rows, at, strict=True):
        home = next((g for g in groups if abs(g[0] - xy).max() <= pixels), None)
        if home is None:
            groups.append((xy, [row]))
        else:
            home[1].append(row)
    return [g for _, g in groups]


def number_labels(ax: Axes, rows, x: str, y: str) -> list:
    """Each Pareto point's number (points on one spot share a label, '5–8'), moved apart by
    adjustText; labels that still overlap are merged until none do. Returns the labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = ax.get_figure()
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    shown = sorted(rows, key=lambda r: r["n"])[:LABELLED]
    if not shown:
        return []
    texts = []
    for group in _groups(ax, shown, x, y):
        numbers = sorted(r["n"] for r in group)
        texts.append(
            (numbers, ax.text(group[0][x], group[0][y], number_ranges(numbers), fontsize=7))
        )
    _, arrows = adjust_text(
        [t for _, t in texts], ax=ax, arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.4}
    )
    return _merge_overlaps(ax, texts, arrows)


def _arrow_of(arrow):
    """adjustText's arrow: a FancyArrowPatch, or an annotation holding one (its fallback)."""
    return getattr(arrow, "arrow_patch", None) or arrow


def _merge_overlaps(ax: Axes, texts: list, arrows: list) -> list:
    """Merges overlapping labels until none overlap; a merged-away label's arrow goes with it
    (an arrow clipped to a removed label cannot be drawn)."""
    renderer = ax.get_figure().canvas.get_renderer()
    while True:
        boxes = [t.get_window_extent(renderer) for _, t in texts]
        pair = next(
            (
                (i, j)
                for i in range(len(texts))
                for j in range(i + 1, len(texts))
                if boxes[i].overlaps(boxes[j])
            ),
            None,
        )
        if pair is None:
            return [t for _, t in texts]
        (a, ta), (b, tb) = texts[pair[0]], texts[pair[1]]
        for arrow in [x for x in arrows if _arrow_of(x).patchA is tb]:
            arrow.remove()
            arrows.remove(arrow)
        tb.remove()
        merged = sorted(a + b)
        ta.set_text(number_ranges(merged))
        texts[pair[0]] = (merged, ta)
        del texts[pair[1]]


def dense_trust(rows: list[dict[str, Any]]) -> float | None:
    """The dense model's measured trust, from any row's paired gap to it."""
    for r in rows:
        if r.get("trust_vs_dense") is not None and r.get("trust") is not None:
            return r["trust"] - r["trust_vs_dense"]
    return None


def _dense_line(ax: Axes, rows, axis: str = "y") -> None:
    """The dense baseline's trust as a dashed line (named in the legend, so no label of its
    own can cover a point's number): what an ensemble has to beat."""
    value = dense_trust(rows)
    if value is not None:
        line = ax.axhline if axis == "y" else ax.axvline
        line(value, color="firebrick", ls="--", lw=0.8, zorder=0.5)


def _unit_label(unit: str, rows: list[dict[str, Any]]) -> str:
    """'unit bitplane', or with the families that match it row for row where the table says
    'bitplane≡stripes' (one row, equivalent choices): 'unit bitplane (≡ stripes on 120 rows)'."""
    same: dict[str, int] = {}
    for r in rows:
        if r["unit"] == unit:
            for other in dict.fromkeys(e["unit"] for e in r.get("equivalent_choices", ())):
                if other != unit:
                    same[other] = same.get(other, 0) + 1
    alike = ", ".join(f"{u} on {n} row{'s' * (n != 1)}" for u, n in same.items())
    return f"Pareto, unit {unit}" + (f" (≡ {alike})" if alike else "")


def _legend(
    markers: dict[str, str], others: bool, dense: float | None, rows: list[dict[str, Any]]
) -> list[Line2D]:
    handles = [
        Line2D([], [], marker=m, ls="", mfc="white", mec="k", label=_unit_label(u, rows))
        for u, m in markers.items()
    ]
    if dense is not None:
        handles.append(
            Line2D(
                [], [], color="firebrick", ls="--", lw=0.8, label=f"dense model: trust {dense:.1f}"
            )
        )
    if others:
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="0.82", mec="0.82", label="other feasible")
        )
    return handles


def plot_fronts(
    out: Path, rows: list[dict[str, Any]], others: list[dict[str, Any]], title: str
) -> list[Path]:
    """The scatter matrix of all four objectives and one 2-D projection per cost objective;
    `others` are the feasible non-Pareto trials' metrics."""
    markers, norm = unit_markers(rows), _area_norm(rows)
    written = [_matrix(out, rows, others, title, markers, norm)]
    for key, (name, label) in PLOTS.items():
        fig = Figure(figsize=(8.5, 5.8), dpi=110)
        fig.subplots_adjust(left=0.09, right=0.97, bottom=0.1, top=0.9)
        ax = fig.subplots()
        bars = [r for r in rows if r.get("trust_ci95_low") is not None]
        if bars:
            ax.errorbar(
                [r[key] for r in bars],
                [r["trust"] for r in bars],
                yerr=[
                    [r["trust"] - r["trust_ci95_low"] for r in bars],
                    [r["trust_ci95_high"] - r["trust"] for r in bars],
                ],
                fmt="none",
                ecolor="0.6",
                elinewidth=0.6,
                zorder=0,
            )
        _dense_line(ax, rows)
        points = _front(ax, rows, others, key, "trust", markers, norm)
        if points is not None:
            fig.colorbar(points, ax=ax, label=f"unit {area_label(rows)}", pad=0.01)
        ax.set_xlabel(label)
        ax.set_ylabel("trust (0–100, measured: stored predictions, voting)")
        ax.set_title(f"{title}\n{PROJECTION}", fontsize=7.5)
        ax.legend(
            handles=_legend(markers, bool(others), dense_trust(rows), rows),
            loc="lower right",
            fontsize=7,
        )
        path = out / name
        fig.savefig(path)
        written.append(path)
    return written


def _matrix(out: Path, rows, others, title: str, markers, norm) -> Path:
    """Every pair of objectives (lower triangle), the front highlighted; numbers on the
    trust-latency panel only, where most people look first."""
    names = list(AXES)
    points = None
    fig = Figure(figsize=(10, 9.5), dpi=100)
    axes = fig.subplots(len(names) - 1, len(names) - 1, squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.07, top=0.9, wspace=0.05, hspace=0.05)
    for i, y in enumerate(names[1:]):
        for j, x in enumerate(names[:-1]):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            first = (i, j) == (0, 0)
            if j == 0:  # the trust column: the dense model's trust across it
                _dense_line(ax, rows, axis="x")
            points = _front(ax, rows, others, x, y, markers, norm, size=22, numbers=first)
            if i == len(names) - 2:
                ax.set_xlabel(area_label(rows) if x == "area_mm2" else AXES[x][0], fontsize=8)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0:
                ax.set_ylabel(area_label(rows) if y == "area_mm2" else AXES[y][0], fontsize=8)
            else:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize=7)
    # share axes by objective so the panels line up
    for j in range(len(names) - 1):
        col = [axes[i][j] for i in range(j, len(names) - 1)]
        for ax in col[1:]:
            ax.sharex(col[0])
    for i in range(len(names) - 1):
        row = [axes[i][j] for j in range(i + 1)]
        for ax in row[1:]:
            ax.sharey(row[0])
    fig.legend(
        handles=_legend(markers, bool(others), dense_trust(rows), rows),
        loc="upper right",
        bbox_to_anchor=(0.98, 0.88),
        fontsize=8,
        title="marker: unit; colour: area (mm²; ranked within a scope)",
        title_fontsize=8,
    )
    if points is not None:
        bar = fig.add_axes((0.80, 0.42, 0.018, 0.22))
        fig.colorbar(points, cax=bar, label=area_label(rows))
    fig.suptitle(
        f"{title}\nall four objectives, every pair: the Pareto set (numbered as in pareto.json "
        "on the first panel) is optimal in the four together",
        fontsize=9,
    )
    path = out / MATRIX
    fig.savefig(path)
    return path
