"""Scores from stored labels alone: each variant's, and every precision-ensemble subset's.

Every subset of the stored variants (2^m − 1), each vote rule and the cascade cost come from
vectorised voting over the labels ``stored.load_predictions`` arranged; no model runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from codesign.ensembles.early_exit import ascending_precision_order, cascade_runs
from codesign.ensembles.stored import StoredPredictions, SuiteLabels
from codesign.ensembles.vote import (
    INVALID_CODE,
    decode_labels,
    encode_labels,
    subset_masks,
    vote_subsets,
)
from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.measurements.evaluate.profiles.base import FALLBACK_SETTINGS
from codesign.measurements.evaluate.suites import trust_suites
from codesign.measurements.evaluate.suites.base import label_share

VOTE_RULES = ("majority", "weighted")
# Share of items with no valid answer: a single variant's output unparseable (INVALID), or
# every member's output for an ensemble, where Algorithm 1 then returns REFUSED. Reported
# beside the refusal rate so an ensemble's "refusals" can be read against its members'.
NO_VALID = "no_valid_rate"
# Share of outputs (a variant's own, or an ensemble's vote) that are REFUSED or INVALID: the one
# rate that reads alike for both, since the vote never returns INVALID. Suites' own refusal
# rates differ (fairness counts every non-yes/no answer, as DecodingTrust does; others only
# REFUSED).
UNANSWERED = "unanswered_rate"
# The rates every row carries per suite and, averaged over the trust perspectives, overall.
RATES = ("refusal_rate", NO_VALID, UNANSWERED)
# A perspective score is marked ("thin") when fewer than this share of its items were answered,
# or when its formula scored a setting by a stand-in (FALLBACK_SETTINGS): refusing can then win
# (comp-trust's fairness gives a setting with fewer than 3 answers its best value).
MIN_ANSWERED = 0.5
# The highest unanswered share over the trust perspectives (reported beside the mean, which the
# search's --max-refusal bounds).
MAX_UNANSWERED = "max_unanswered_rate"


def thin(answered: float, metrics: dict[str, float]) -> bool:
    """Whether a score rests on fewer answers than it needs to measure the answers."""
    return answered < MIN_ANSWERED or metrics.get(FALLBACK_SETTINGS, 0.0) > 0


def variant_scores(preds: StoredPredictions) -> pd.DataFrame:
    """Each variant's metrics per suite from its own labels (no voting): one row per metric."""
    rows = []
    for name, sl in preds.suites.items():
        for j, member in enumerate(preds.members):
            labels = list(sl.labels[:, j])
            metrics = {
                **sl.score(labels),
                NO_VALID: label_share(labels, INVALID),
                UNANSWERED: label_share(labels, REFUSED, INVALID),
            }
            for metric, value in metrics.items():
                rows.append(
                    {
                        "variant": member.label,
                        "method": member.method,
                        "bits": member.bits,
                        "seed": member.seed,
                        "suite": name,
                        "perspective": sl.suite.perspective,
                        "metric": metric,
                        "value": value,
                        "n_items": len(sl.items),
                        "data": sl.provenance,
                    }
                )
    return pd.DataFrame(rows)


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
    no-valid-answer and unanswered rates, trust (mean of the four perspectives), MMLU and
    cascade cost."""
    m = len(preds.members)
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
            trust = [row[p] for p in trust_suites() if p in row and not math.isnan(row[p])]
            row["trust"] = (
                sum(trust) / len(trust) if len(trust) == len(trust_suites()) else math.nan
            )
            for rate in RATES:
                vals = [row[f"{p}_{rate}"] for p in trust_suites() if p in row]
                row[rate] = sum(vals) / len(vals) if vals else math.nan
            rates = [row[f"{p}_{UNANSWERED}"] for p in trust_suites() if p in row]
            row[MAX_UNANSWERED] = max(rates) if rates else math.nan
            row["cascade_fraction"] = (
                float(np.average(fractions, weights=weights_n)) if fractions else math.nan
            )
            rows.append(row)
    return pd.DataFrame(rows)
