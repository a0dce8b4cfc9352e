"""Scores of every precision-ensemble subset from stored labels alone (a variant's own scores:
``codesign.scoring.variants``).

Every subset of the stored variants (2^m − 1), each vote rule and the cascade cost come from
vectorised voting over the labels ``stored.load_predictions`` arranged; no model runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from codesign.ensembles.early_exit import ascending_precision_order, cascade_runs
from codesign.ensembles.vote import (
    INVALID_CODE,
    decode_labels,
    encode_labels,
    subset_masks,
    vote_subsets,
)
from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.measurements.evaluate.suites.base import label_share
from codesign.scoring.profiles.base import FALLBACK_SETTINGS
from codesign.scoring.stored import StoredPredictions, SuiteLabels
from codesign.scoring.trust import mean_trust, perspectives
from codesign.scoring.variants import MAX_UNANSWERED, NO_VALID, RATES, UNANSWERED, thin

VOTE_RULES = ("majority", "weighted")


def vote_weights(preds: StoredPredictions) -> np.ndarray | None:
    """Weighted voting weighs each member by its MMLU log-likelihood accuracy: a measure of
    capability taken on another task, so no trust label leaks into its own vote."""
    sl = preds.suites.get("mmlu_ll")
    if sl is None:
        return None
    return np.array([sl.score(list(sl.labels[:, j]))["score"] for j in range(len(preds.members))])


def _vote_suite(sl: SuiteLabels, bits: np.ndarray, masks: np.ndarray, weights) -> tuple:
    """Ensemble labels (subsets × items), mean member-run fraction of the cascade, and the
    share of items on which every member's output is INVALID (per subset)."""
    label_set = list(sl.suite.label_set)
    codes = encode_labels(sl.labels, label_set)
    refusal_vote = [sl.suite.refusal_vote(it) for it in sl.items]
    voted = np.empty((len(masks), len(sl.items)), dtype=np.int64)
    runs = np.zeros((len(masks), len(sl.items)))
    order = ascending_precision_order(bits)
    for vote_as in set(refusal_vote):
        idx = np.array([i for i, r in enumerate(refusal_vote) if r == vote_as])
        refusal_as = None if vote_as is None else label_set.index(vote_as)
        voted[:, idx] = vote_subsets(
            codes[idx], bits, masks, weights=weights, refusal_as=refusal_as
        )
        runs[:, idx] = cascade_runs(
            codes[idx], bits, order, masks, weights=weights, refusal_as=refusal_as
        )
    # a subset of one member is that variant deployed alone: no vote runs, so it is scored on
    # its own labels, as variant_scores does (the vote would turn its INVALID outputs into
    # REFUSED, Algorithm 1's "nothing left", and score it differently from the same variant)
    alone = np.flatnonzero(masks.sum(axis=1) == 1)
    voted[alone] = codes[:, masks[alone].argmax(axis=1)].T
    size = masks.sum(axis=1, keepdims=True)
    invalid = (codes == INVALID_CODE).astype(np.float64)
    no_valid = (masks.astype(np.float64) @ invalid.T == size).mean(axis=1)
    return decode_labels(voted, label_set), (runs / size).mean(axis=1), no_valid


def subset_labels(
    preds: StoredPredictions, keys: Sequence[str], rule: str = "majority"
) -> dict[str, np.ndarray]:
    """Per suite, one ensemble's labels per item (a single member: its own labels), voted the
    way `ensemble_scores` votes that subset."""
    by_key = {m.key: j for j, m in enumerate(preds.members)}
    unknown = [k for k in keys if k not in by_key]
    if unknown or not keys:
        raise ValueError(f"not stored members of {preds.model}: {unknown or 'none given'}")
    mask = np.zeros((1, len(preds.members)), dtype=bool)
    mask[0, [by_key[k] for k in keys]] = True
    weights = vote_weights(preds) if rule == "weighted" else None
    if rule == "weighted" and weights is None:
        raise ValueError("weighted voting needs stored MMLU log-likelihood predictions")
    return {
        name: _vote_suite(sl, preds.bits, mask, weights)[0][0] for name, sl in preds.suites.items()
    }


def ensemble_scores(
    preds: StoredPredictions, vote_rules: tuple[str, ...] = VOTE_RULES
) -> pd.DataFrame:
    """One row per (subset of members, vote rule): every suite's score, refusal rate,
    no-valid-answer and unanswered rates, trust (the mean of the perspectives measured:
    ``scoring.trust``), MMLU and cascade cost."""
    m = len(preds.members)
    names = perspectives(preds.suites)  # trust averages the perspectives measured
    masks = subset_masks(m)
    bits = preds.bits
    rows = []
    for rule in vote_rules:
        weights = vote_weights(preds) if rule == "weighted" else None
        if rule == "weighted" and weights is None:
            continue
        per_suite: dict[str, tuple] = {
            n: _vote_suite(sl, bits, masks, weights) for n, sl in preds.suites.items()
        }
        for s, mask in enumerate(masks):
            chosen = [preds.members[j] for j in np.flatnonzero(mask)]
            row = {
                "subset": int(sum(1 << j for j in np.flatnonzero(mask))),
                "members": "+".join(c.label for c in chosen),
                "size": len(chosen),
                "methods": ",".join(sorted({c.method for c in chosen})),
                "bits": ",".join(str(c.bits) for c in chosen),
                "variant_keys": ",".join(c.key for c in chosen),
                "vote_rule": rule,
            }
            fractions, weights_n = [], []
            for name, (labels, run_fraction, no_valid) in per_suite.items():
                sl = preds.suites[name]
                metrics = sl.score(list(labels[s]))
                row[name] = metrics["score"]
                row[f"{name}_refusal_rate"] = metrics["refusal_rate"]
                row[f"{name}_{NO_VALID}"] = float(no_valid[s])
                row[f"{name}_{UNANSWERED}"] = label_share(labels[s], REFUSED, INVALID)
                row[f"{name}_answered"] = 1.0 - row[f"{name}_{UNANSWERED}"]
                row[f"{name}_{FALLBACK_SETTINGS}"] = metrics.get(FALLBACK_SETTINGS, 0.0)
                row[f"{name}_thin"] = thin(row[f"{name}_answered"], metrics)
                if sl.suite.trust:
                    fractions.append(run_fraction[s])
                    weights_n.append(len(sl.items))
            row["trust"] = mean_trust(row, names)
            for rate in RATES:
                vals = [row[f"{p}_{rate}"] for p in names]
                row[rate] = sum(vals) / len(vals) if vals else math.nan
            rates = [row[f"{p}_{UNANSWERED}"] for p in names]
            row[MAX_UNANSWERED] = max(rates) if rates else math.nan
            row["cascade_fraction"] = (
                float(np.average(fractions, weights=weights_n)) if fractions else math.nan
            )
            rows.append(row)
    return pd.DataFrame(rows)
