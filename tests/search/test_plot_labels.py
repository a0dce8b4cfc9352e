"""Front plots: every Pareto number is shown once, and no two labels overlap (bounding boxes
from the renderer), however many points share a spot."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from codesign.search.outcome import number_ranges
from codesign.search.plots import dense_trust, number_labels


def _rows() -> list[dict]:
    rows = []
    for n in range(1, 25):
        spot = n % 6  # four rows on each of six spots, plus near neighbours
        rows.append({"n": n, "latency_ms": 10.0 * (1 + spot) + 0.01 * n, "trust": 50 + spot})
    rows += [
        {"n": 25, "latency_ms": 10.5, "trust": 50.05},
        {"n": 26, "latency_ms": 11, "trust": 50},
    ]
    return rows


def _numbers(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("–")
        out |= set(range(int(low), int(high or low) + 1))
    return out


def test_no_two_number_labels_overlap_and_every_number_is_shown():
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xscale("log")
    rows = _rows()
    ax.scatter([r["latency_ms"] for r in rows], [r["trust"] for r in rows])
    texts = number_labels(ax, rows, "latency_ms", "trust")
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    shown = [_numbers(t.get_text()) for t in texts]
    assert set().union(*shown) == {r["n"] for r in rows}
    assert sum(map(len, shown)) == len(rows)  # each number once


def test_number_ranges_and_the_dense_baseline():
    assert number_ranges([5, 6, 7, 8, 11]) == "5–8,11"
    assert number_ranges([2]) == "2"
    rows = [{"trust": 60.0, "trust_vs_dense": 5.0}]
    assert dense_trust(rows) == 55.0
    assert dense_trust([{"trust": 60.0}]) is None


def test_a_label_merged_away_takes_its_arrow_with_it():
    """adjustText may draw an arrow from a label that is then merged into another; the arrow,
    clipped to the removed label, must go too, or the figure cannot be drawn (a 573-row exact
    front failed so)."""
    import io

    from matplotlib.patches import FancyArrowPatch

    from codesign.search.plots import _merge_overlaps

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.scatter([1, 2], [1, 2])
    keep, gone = ax.text(1.5, 1.5, "1"), ax.text(1.5, 1.5, "2")  # on one spot: they overlap
    arrow = FancyArrowPatch(posA=(1.5, 1.5), posB=(2, 2), patchA=gone, arrowstyle="-")
    ax.add_patch(arrow)
    arrows = [arrow]
    texts = _merge_overlaps(ax, [([1], keep), ([2], gone)], arrows)
    assert [t.get_text() for t in texts] == ["1–2"]
    assert arrows == [] and arrow not in ax.patches
    fig.savefig(io.BytesIO(), format="png")
