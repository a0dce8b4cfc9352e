"""The fit of the GPU efficiency terms to the published calibration set, and the same fit
with one row left out, so that the error quoted for a row can be one the fit never saw.

Least squares on log(predicted / published) over the rows of reference_data/gpu_published.csv
whose role is 'fit', with a weak prior (weight PRIOR_WEIGHT on the log distance to a neutral
value) so that terms the set barely pins stay near neutral instead of trading off freely.
calibration.GPU_EFFICIENCY and WEIGHT_ONLY_KERNELS hold the values of the fit over every fit
row (scripts/fit_gpu_calibration.py prints them); ``leave_one_out`` refits without each fit
row in turn and predicts that row with the terms fitted on the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from codesign.simulators import calibration as cal
from codesign.simulators.published import validate_published

PRIOR_WEIGHT = 0.05
# (where, key, prior, low, high)
TERMS = [
    *[
        (gpu, key, prior, lo, hi)
        for gpu in ("a100-sxm", "h100-sxm", "rtx4090")
        for key, prior, lo, hi in (
            ("bandwidth_efficiency", 0.8, 0.3, 1.0),
            ("compute_efficiency", 0.6, 0.1, 1.0),
            ("layer_overhead_us", 10.0, 0.0, 500.0),
        )
        # the A100's and H100's streaming rates are published achieved figures (gpt-fast's
        # ~1700 GB/s, FlashMLA's 3000 GB/s; calibration.py), not fitted
        if not (key == "bandwidth_efficiency" and gpu in ("a100-sxm", "h100-sxm"))
    ],
    *[("kernel", name, 0.7, 0.1, 1.0) for name in ("int8-wo", "tinygemm", "exllama", "awq-gemm")],
    ("gpus", "overlap", 0.5, 0.0, 1.0),
]


def _figure(where: str, key: str) -> cal.Figure:
    if where == "gpus":  # one term every GPU shares
        return next(iter(cal.GPU_EFFICIENCY.values()))[key]
    return cal.WEIGHT_ONLY_KERNELS[key] if where == "kernel" else cal.GPU_EFFICIENCY[where][key]


def _set(where: str, key: str, figure: cal.Figure) -> None:
    if where == "kernel":
        cal.WEIGHT_ONLY_KERNELS[key] = figure
    elif where == "gpus":
        for terms in cal.GPU_EFFICIENCY.values():
            terms[key] = figure
    else:
        cal.GPU_EFFICIENCY[where][key] = figure


def current() -> np.ndarray:
    """The terms' values as calibration holds them now."""
    return np.array([_figure(w, k).value for w, k, *_ in TERMS], dtype=float)


@contextmanager
def terms_set(values: np.ndarray) -> Iterator[None]:
    """Calibration with ``values`` for TERMS inside the block, as it was after it."""
    old = [_figure(w, k) for w, k, *_ in TERMS]
    try:
        for (where, key, *_), figure, value in zip(TERMS, old, values, strict=True):
            _set(where, key, cal.Figure(float(value), figure.unit, figure.source, figure.note))
        yield
    finally:
        for (where, key, *_), figure in zip(TERMS, old, strict=True):
            _set(where, key, figure)


def fit(rows: pd.DataFrame) -> np.ndarray:
    """The TERMS values that best fit ``rows`` (log-ratio least squares plus the prior)."""
    prior = np.array([t[2] for t in TERMS])
    scale = np.array([10.0 if "overhead" in t[1] else 1.0 for t in TERMS])

    def residuals(x: np.ndarray) -> np.ndarray:
        with terms_set(x):
            data = np.log(validate_published(rows)["ratio"].to_numpy())
        reg = PRIOR_WEIGHT * np.log((x + scale * 0.1) / (prior + scale * 0.1))
        return np.concatenate([data, reg])

    lo = np.array([t[3] for t in TERMS])
    hi = np.array([t[4] for t in TERMS])
    return least_squares(residuals, prior.copy(), bounds=(lo, hi), x_scale=scale * 0.1).x


def leave_one_out(
    points: pd.DataFrame, progress: Callable[[int, int], None] = lambda i, n: None
) -> pd.DataFrame:
    """Per row: its prediction by terms fitted without it ('predicted_left_out', and its
    error in %). A holdout row was never fitted: its in-sample prediction is already one.
    About a minute for 13 fit rows on a CPU; kept per process for the same terms and rows."""
    key = (tuple(current()), tuple(points["id"]), tuple(points["published"]))
    if key not in _LEFT_OUT:
        _LEFT_OUT[key] = _leave_one_out(points, progress)
    return _LEFT_OUT[key].copy()


_LEFT_OUT: dict[tuple, pd.DataFrame] = {}


def _leave_one_out(points: pd.DataFrame, progress: Callable[[int, int], None]) -> pd.DataFrame:
    fitted = points[points["role"] == "fit"]
    out = validate_published(points).set_index("id")
    out["predicted_left_out"] = out["predicted"]
    for i, row_id in enumerate(fitted["id"]):
        progress(i, len(fitted))
        with terms_set(fit(fitted[fitted["id"] != row_id])):
            left = validate_published(points[points["id"] == row_id])
        out.loc[row_id, "predicted_left_out"] = float(left["predicted"].iloc[0])
    progress(len(fitted), len(fitted))
    ratio = out["predicted_left_out"] / out["published"].astype(float)
    out["error_left_out_pct"] = (ratio - 1.0) * 100.0
    return out.reset_index()
