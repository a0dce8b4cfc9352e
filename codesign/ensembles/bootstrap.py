"""95% bootstrap intervals for trust, paired against the dense model and the best pick.

Trust from tens of items per suite moves by points from one draw of items to another (with 20
items one variant's OOD score moved 47.5 → 15.0), so a ranking by trust needs an interval
beside it. Each replicate redraws every suite's items with replacement within each setting
(every setting keeps its count), votes nothing anew — the ensemble's labels per item are fixed
— and scores every configuration, the dense model and the best configuration on that same
draw. Pairing matters: two ensembles that share members err on the same items, so the interval
of their difference is much narrower than the two intervals side by side suggest. A
configuration is "indistinguishable from the best" when the 95% interval of (best − it) holds 0.
Intervals are bias-corrected percentiles (BC), since some scores are not means of items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from codesign.ensembles.scores import subset_labels
from codesign.scoring.stored import StoredPredictions
from codesign.scoring.trust import perspectives

N_BOOT = 1000
BOOT_SEED = 0
LEVEL = 0.95

Config = tuple[tuple[str, ...], str]  # (member keys, vote rule)


@dataclass(frozen=True)
class TrustInterval:
    """One configuration's trust with its interval, its gap to dense and to the best."""

    trust: float
    low: float
    high: float
    vs_dense: float  # trust − dense trust (points), on all items
    vs_dense_low: float
    vs_dense_high: float
    vs_best_low: float  # interval of (best − this); 0 inside ⇒ indistinguishable from best
    vs_best_high: float
    indistinguishable_from_best: bool
    replicates: int  # replicates in which every trust perspective was defined

    def as_dict(self) -> dict[str, float | bool | int]:
        return {
            "trust_ci95_low": self.low,
            "trust_ci95_high": self.high,
            "trust_vs_dense": self.vs_dense,
            "trust_vs_dense_ci95_low": self.vs_dense_low,
            "trust_vs_dense_ci95_high": self.vs_dense_high,
            "trust_best_minus_this_ci95_low": self.vs_best_low,
            "trust_best_minus_this_ci95_high": self.vs_best_high,
            "indistinguishable_from_best": self.indistinguishable_from_best,
            "bootstrap_replicates": self.replicates,
        }


def _draws(preds: StoredPredictions, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per trust suite: (n, items) indices, each row a draw with replacement within settings."""
    out = {}
    for name in perspectives(preds.suites):
        sl = preds.suites[name]
        settings: dict[str, list[int]] = {}
        for i, it in enumerate(sl.items):
            settings.setdefault(it.setting, []).append(i)
        cols = [
            np.asarray(idx)[rng.integers(0, len(idx), size=(n, len(idx)))]
            for idx in settings.values()
        ]
        out[name] = np.concatenate(cols, axis=1)
    return out


def _trust(scores: Sequence[dict[str, float]]) -> float:
    values = [s["score"] for s in scores]
    return math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)


def _interval(values: np.ndarray, point: float, level: float) -> tuple[float, float]:
    """Bias-corrected percentile interval (Efron's BC): some trust scores are not item means
    (fairness' parity gaps grow under resampling noise), so their bootstrap distribution sits
    off the point estimate and plain percentiles would leave it near one end."""
    values = values[np.isfinite(values)]
    if values.size == 0 or not math.isfinite(point):
        return math.nan, math.nan
    share = (np.sum(values < point) + 0.5 * np.sum(values == point)) / values.size
    share = min(max(share, 0.5 / values.size), 1 - 0.5 / values.size)
    z0, z = norm.ppf(share), norm.ppf((1 + level) / 2)
    low, high = np.percentile(values, [100 * norm.cdf(2 * z0 - z), 100 * norm.cdf(2 * z0 + z)])
    return float(low), float(high)


def trust_intervals(
    preds: StoredPredictions,
    configs: Sequence[Config],
    *,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    level: float = LEVEL,
) -> list[TrustInterval]:
    """One interval per configuration (in order); the best is the highest trust among them.
    Needs the dense model among the stored members (the pairing's reference)."""
    names = perspectives(preds.suites)
    if not names or not configs:
        raise ValueError("trust intervals need a measured trust perspective and a configuration")
    dense = next((m.key for m in preds.members if m.method == "dense"), None)
    if dense is None:
        raise ValueError("trust intervals are paired against the dense model: none is stored")
    distinct = list(dict.fromkeys((tuple(sorted(k)), rule) for k, rule in configs))
    if ((dense,), "majority") not in distinct:
        distinct.append(((dense,), "majority"))
    labels = {c: subset_labels(preds, c[0], c[1]) for c in distinct}
    suites = {name: preds.suites[name] for name in names}
    point = {
        c: _trust([sl.score(list(labels[c][n])) for n, sl in suites.items()]) for c in distinct
    }
    draws = _draws(preds, np.random.default_rng(seed), n_boot)
    boot = {c: np.empty(n_boot) for c in distinct}
    for b in range(n_boot):
        parts = {
            n: (replace(sl, items=[sl.items[i] for i in draws[n][b]]), draws[n][b])
            for n, sl in suites.items()
        }
        for c in distinct:
            scores = [part.score(list(labels[c][n][idx])) for n, (part, idx) in parts.items()]
            boot[c][b] = _trust(scores)
    ref = ((dense,), "majority")
    asked = [(tuple(sorted(k)), rule) for k, rule in configs]
    best = max(dict.fromkeys(asked), key=lambda c: -math.inf if math.isnan(point[c]) else point[c])
    out = []
    for c in asked:
        low, high = _interval(boot[c], point[c], level)
        d_low, d_high = _interval(boot[c] - boot[ref], point[c] - point[ref], level)
        b_low, b_high = _interval(boot[best] - boot[c], point[best] - point[c], level)
        out.append(
            TrustInterval(
                trust=point[c],
                low=low,
                high=high,
                vs_dense=point[c] - point[ref],
                vs_dense_low=d_low,
                vs_dense_high=d_high,
                vs_best_low=b_low,
                vs_best_high=b_high,
                indistinguishable_from_best=c == best or (b_low <= 0 <= b_high),
                replicates=int(np.isfinite(boot[c]).sum()),
            )
        )
    return out


def accuracy_interval(score: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of an accuracy (in points, 0-100) measured on ``n`` items:
    MMLU is a plain share of correct answers, so no bootstrap is needed (scipy's binomtest)."""
    from scipy.stats import binomtest

    if n <= 0 or score is None or not math.isfinite(score):
        return math.nan, math.nan
    k = int(round(score / 100 * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(100 * ci.low), float(100 * ci.high)
