"""Per-PE cost as a function of array shape, from Bit Fusion's whole synthesis table.

calibration.py prices every PE as a 4 x 4 array's row of that table divided by 16, yet the
same table shows the cost per PE moving with the array's shape (a fixed 8-bit PE: 687.6 um^2
alone, 510.7 per PE in 4 x 4, 782.6 in 1 x 16, 443.5 in 16 x 1). Here every row is used:
log(cost per PE) = log(scale of the PE kind) + a·log N + b·log M, with the two shape exponents
shared by every kind (fixed 2/4/8/16-bit and fusible 4/8/16 -> 2-bit) and fitted per metric
(area, dynamic power, leakage) by least squares. ``leave_one_shape_out`` refits without each
of the 15 shapes in turn and predicts its rows: the error the model makes on a shape it never
saw, which is what pricing a unit of another shape relies on.

Source: github.com/hsharma35/bitfusion, results/systolic_array_synth.csv (commit 0246bc4),
shipped as reference_data/bitfusion_systolic_array_synth.csv; 45 nm, 500 MHz (Sharma et al.,
ISCA 2018). Its rows for min = max = 2 bits appear twice; they are counted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

DATA_FILE = "bitfusion_systolic_array_synth.csv"
SOURCE = (
    "Bit Fusion synthesis table (github.com/hsharma35/bitfusion, results/"
    "systolic_array_synth.csv @0246bc4; 45 nm, 500 MHz), every array shape"
)
METRICS = {
    "area_um2": ("Area (um^2)", 1.0),
    "dynamic_uw": ("Dynamic Power (nW)", 1e-3),
    "leakage_uw": ("Leakage Power (nW)", 1e-3),
}
TARGET_MEDIAN_PCT = 10.0  # issue 38: held-out shapes


@cache
def synthesis_rows() -> pd.DataFrame:
    """One row per (N, M, max bits, min bits): the per-PE cost of each metric."""
    import pandas as pd  # here: the families import this module, and a CLI starts fast

    root = resources.files("codesign.simulators.reference_data")
    with resources.as_file(root / DATA_FILE) as path:
        raw = pd.read_csv(path).drop_duplicates()
    out = pd.DataFrame(
        {
            "n": raw["N"],
            "m": raw["M"],
            "kind": raw["Max Precision (bits)"].astype(str)
            + "/"
            + raw["Min Precision (bits)"].astype(str),
        }
    )
    for name, (column, unit) in METRICS.items():
        out[name] = raw[column] * unit / (raw["N"] * raw["M"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class ShapeFit:
    """scale[kind] · N^a · M^b for one metric."""

    scale: dict[str, float]
    a: float
    b: float

    def per_pe(self, kind: str, n: int | np.ndarray, m: int | np.ndarray) -> np.ndarray:
        return self.scale[kind] * np.power(n, self.a) * np.power(m, self.b)


def fit_shape(rows: pd.DataFrame, metric: str) -> ShapeFit:
    kinds = sorted(rows["kind"].unique())
    x = np.column_stack(
        [(rows["kind"] == k).to_numpy(float) for k in kinds]
        + [np.log(rows["n"].to_numpy(float)), np.log(rows["m"].to_numpy(float))]
    )
    coef, *_ = np.linalg.lstsq(x, np.log(rows[metric].to_numpy(float)), rcond=None)
    scale = {k: float(np.exp(c)) for k, c in zip(kinds, coef[: len(kinds)], strict=True)}
    return ShapeFit(scale, float(coef[-2]), float(coef[-1]))


def leave_one_shape_out(metric: str) -> pd.DataFrame:
    """Every row predicted by the fit over the other shapes: error in %."""
    rows = synthesis_rows()
    parts = []
    for (n, m), held in rows.groupby(["n", "m"]):
        fit = fit_shape(rows[(rows["n"] != n) | (rows["m"] != m)], metric)
        predicted = [fit.per_pe(k, n, m) for k in held["kind"]]
        parts.append(held.assign(predicted=predicted))
    import pandas as pd

    out = pd.concat(parts)
    out["error_pct"] = (out["predicted"] / out[metric] - 1.0) * 100.0
    return out


def one_shape_error(metric: str, n: int = 4, m: int = 4) -> pd.Series:
    """|error| in % of pricing every shape at one shape's per-PE cost (calibration's rule)."""
    rows = synthesis_rows()
    ref = rows[(rows["n"] == n) & (rows["m"] == m)].set_index("kind")[metric]
    return (rows[metric] / rows["kind"].map(ref) - 1.0).abs() * 100.0


TABLE_SIDE = (1, 16)  # the table's array sides: every shape has N, M within 1..16
CALIBRATED_SHAPE = (4, 4)  # the rows calibration.py's per-PE figures come from


@cache
def _fits() -> dict[str, ShapeFit]:
    rows = synthesis_rows()
    return {metric: fit_shape(rows, metric) for metric in METRICS}


def shape_factor(metric: str, rows, cols) -> np.ndarray:
    """Per-PE `metric` of a rows x cols array over the 4 x 4 array's (what calibration.py
    prices), by the fitted shape law. Each side is held within the table's 1..16: the table
    has no array past 16 PEs, and a power law is not carried 500x beyond its data (a 64 x 128
    array is priced as 16 x 16, i.e. area x0.88, dynamic x0.81, leakage x0.88)."""
    fit = _fits()[metric]
    n = np.clip(np.asarray(rows, dtype=float), *TABLE_SIDE) / CALIBRATED_SHAPE[0]
    m = np.clip(np.asarray(cols, dtype=float), *TABLE_SIDE) / CALIBRATED_SHAPE[1]
    return np.power(n, fit.a) * np.power(m, fit.b)
