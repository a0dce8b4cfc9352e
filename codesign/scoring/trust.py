"""Trust: the mean of the trust perspectives a store measured.

A perspective is a suite registered with ``trust = True``; trust averages those among the
suites a store (or a study) holds predictions for, and every output names them. A suite added
later therefore never turns an existing store's trust into NaN: that store did not measure it,
and its trust says which perspectives it rests on. Within the measured perspectives a NaN score
(no answer to score) makes trust NaN, as before: a mean over what happened to be answered would
change meaning from row to row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from codesign.measurements.evaluate.suites import trust_suites


def perspectives(measured: Iterable[str]) -> tuple[str, ...]:
    """The trust perspectives among ``measured`` (suite names, or a row keyed by them), in
    display order: what trust averages."""
    have = set(measured)
    return tuple(p for p in trust_suites() if p in have)


def mean_trust(scores: Mapping[str, float], names: Iterable[str]) -> float:
    """The mean of ``scores`` over the perspectives ``names``; NaN when any is NaN or none."""
    values = [scores[p] for p in names]
    if not values or any(math.isnan(v) for v in values):
        return math.nan
    return sum(values) / len(values)
