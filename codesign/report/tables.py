"""The report's CSV tables: every variant metric (long), and every ensemble subset (wide).

Both carry the model, its baseline and, per suite, the data kind (real or stand-in) and the
item count, so a CSV read alone still says what it measured.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from codesign.ensembles.ranking import OVERALL, same_method
from codesign.report.data import TRUST, ReportData
from codesign.report.selection import Comparison, reference_single


def variants_frame(data: ReportData) -> pd.DataFrame:
    """One row per (variant, suite, metric), sub-metrics included; trust rows first."""
    return data.variants.reset_index(drop=True)


def _group_of(methods: str, known: list[str]) -> str:
    return next((m for m in known if same_method(methods, m)), OVERALL)


def ensembles_frame(data: ReportData, comparison: Comparison) -> pd.DataFrame:
    """Every (subset, vote rule) with its gap to dense and to the best single variant."""
    table = data.ensembles.copy()
    dense = comparison.dense
    table["trust_vs_dense"] = table[TRUST] - (dense.get(TRUST) if dense else math.nan)
    refs = [
        reference_single(comparison.singles, _group_of(m, data.methods)) for m in table["methods"]
    ]
    table["best_single"] = [r.members if r else "" for r in refs]
    table["trust_vs_best_single"] = [
        t - (r.get(TRUST) if r else math.nan) for t, r in zip(table[TRUST], refs, strict=True)
    ]
    return table


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, float_format="%.6g")
    return path
