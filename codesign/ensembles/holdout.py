"""A held-out check of the report's picks.

The best ensemble (and the best single variant) is ranked by trust on the same items it is then
scored on, so its gap to dense is optimistic: with 2^m − 1 subsets, two vote rules and tens of
items per setting, some subset beats dense by chance. Here each split picks the best of a group
on a random half of every suite's items (stratified by setting) and scores that pick, and the
dense model, on the other half. The mean and spread of that held-out gap over the splits say
how much of the in-sample gap the selection can be trusted with. Voting is from stored labels,
so a split costs two scorings of every subset and no model run.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from codesign.ensembles.ranking import OVERALL, nan_last, rank_ensembles, same_method
from codesign.ensembles.scores import ensemble_scores
from codesign.measurements.evaluate.suites import trust_suites
from codesign.scoring.stored import StoredPredictions
from codesign.scoring.variants import variant_scores

TRUST = "trust"  # the trust column of an ensemble table
HOLDOUT_SPLITS = 20
HOLDOUT_SEED = 0


@dataclass
class HeldOut:
    """Per split: the pick made on one half and its trust gap to dense on the other."""

    group: str  # a method or "overall"
    kind: str  # "ensemble" or "single"
    picks: list[str] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    unscored: int = 0  # splits whose half left a trust score undefined (e.g. nothing answered)

    def add(self, pick: str, gap: float) -> None:
        if math.isfinite(gap):
            self.picks.append(pick)
            self.gaps.append(float(gap))
        else:
            self.unscored += 1

    @property
    def mean(self) -> float:
        return statistics.fmean(self.gaps) if self.gaps else math.nan

    @property
    def sd(self) -> float:
        return statistics.stdev(self.gaps) if len(self.gaps) > 1 else math.nan

    @property
    def positive(self) -> int:
        return sum(g > 0 for g in self.gaps)

    @property
    def most_picked(self) -> tuple[str, int]:
        return Counter(self.picks).most_common(1)[0] if self.picks else ("", 0)

    def text(self) -> str:
        """e.g. '+0.8 ± 1.9 (14/20 > 0)'."""
        if not self.gaps:
            return "—"
        sd = "" if math.isnan(self.sd) else f" ± {self.sd:.1f}"
        skipped = f", {self.unscored} unscored" if self.unscored else ""
        text = f"{self.mean:+.1f}{sd} ({self.positive}/{len(self.gaps)} > 0{skipped})"
        return text.replace("-", "−")


def split_halves(
    preds: StoredPredictions, rng: np.random.Generator
) -> tuple[StoredPredictions, StoredPredictions]:
    """Two disjoint halves of every suite's items, each setting split evenly."""
    halves = (
        replace(preds, suites={}),
        replace(preds, suites={}),
    )
    for name, sl in preds.suites.items():
        settings: dict[str, list[int]] = {}
        for i, it in enumerate(sl.items):
            settings.setdefault(it.setting, []).append(i)
        first: list[int] = []
        for idx in settings.values():
            shuffled = rng.permutation(idx)
            first += shuffled[: len(idx) // 2].tolist()
        chosen = np.zeros(len(sl.items), dtype=bool)
        chosen[first] = True
        for half, mask in zip(halves, (chosen, ~chosen), strict=True):
            rows = np.flatnonzero(mask)
            if len(rows):
                half.suites[name] = replace(
                    sl, items=[sl.items[i] for i in rows], labels=sl.labels[rows]
                )
    return halves


def _trust_suites(preds: StoredPredictions) -> list[str]:
    return [s for s in preds.suites if s in trust_suites()]


def _ensemble_table(preds: StoredPredictions) -> pd.DataFrame:
    table = ensemble_scores(preds)
    table[TRUST] = table[_trust_suites(preds)].mean(axis=1, skipna=False)
    return table


def _single_trust(preds: StoredPredictions) -> dict[str, float]:
    scores = variant_scores(preds)
    scores = scores[(scores["metric"] == "score") & scores["suite"].isin(_trust_suites(preds))]
    wide = scores.pivot_table(index="variant", columns="suite", values="value", dropna=False)
    return wide.mean(axis=1, skipna=False).to_dict()


def _in_group(methods: str, group: str) -> bool:
    return group == OVERALL or same_method(methods, group)


def held_out_gains(
    preds: StoredPredictions | None, splits: int = HOLDOUT_SPLITS, seed: int = HOLDOUT_SEED
) -> dict[tuple[str, str], HeldOut]:
    """{(group, "ensemble" | "single"): HeldOut} for every method and overall; empty without
    a dense baseline, a trust perspective or a quantized variant."""
    if preds is None or not _trust_suites(preds):
        return {}
    dense = next((m for m in preds.members if m.method == "dense"), None)
    quantized = [m for m in preds.members if m.method != "dense"]
    if dense is None or not quantized:
        return {}
    groups = [*dict.fromkeys(m.method for m in quantized), OVERALL]
    out = {(g, k): HeldOut(g, k) for g in groups for k in ("ensemble", "single")}
    rng = np.random.default_rng(seed)
    for _ in range(splits):
        pick_half, test_half = split_halves(preds, rng)
        if set(pick_half.suites) != set(test_half.suites):
            continue  # a suite too small to split
        train = rank_ensembles(_ensemble_table(pick_half).query("size >= 2"))
        test = _ensemble_table(test_half).set_index(["subset", "vote_rule"])[TRUST]
        train_single, test_single = _single_trust(pick_half), _single_trust(test_half)
        base = test_single[dense.label]
        for group in groups:
            rows = train[train["methods"].map(lambda s, g=group: _in_group(s, g))]
            if not rows.empty:
                best = rows.iloc[0]
                out[(group, "ensemble")].add(
                    f"{best['members']} ({best['vote_rule']})",
                    float(test[(best["subset"], best["vote_rule"])]) - base,
                )
            cands = [m.label for m in quantized if _in_group(m.method, group)]
            if cands:
                best_single = max(cands, key=lambda c: nan_last(train_single[c]))
                out[(group, "single")].add(best_single, test_single[best_single] - base)
    return {k: v for k, v in out.items() if v.gaps or v.unscored}
