"""Trust of every ensemble the search can pick, voted once from stored predictions and cached.

A trial never runs a model and never votes: before the search, every subset of one method's
stored variants (the dense model included) is scored by `ensembles.scores.ensemble_scores`
for each vote rule, and the lossless cascade's per-member run probabilities are counted for each
cascade order. Trials look rows up by (variant keys, vote rule). The table is cached under a
fingerprint of the stored labels, so a rerun on an unchanged store does not vote again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from codesign.ensembles.early_exit import ascending_precision_order, cascade_runs
from codesign.ensembles.scores import ensemble_scores, vote_weights
from codesign.ensembles.vote import encode_labels, subset_masks
from codesign.errors import CodesignError
from codesign.measurements.evaluate.suites import trust_suites
from codesign.paths import cache_dir
from codesign.scoring.stored import Member, StoredPredictions, provenance
from codesign.scoring.trust import perspectives

CACHE_VERSION = 5  # 2: rows carry no_valid_rate; 3: labels and scores follow a scoring profile;
# 4: a one-member subset is scored on its own labels (not voted); 5: answered shares, thin marks
CASCADE_ORDERS = ("ascending", "descending")  # cheapest member first, or most precise first
MMLU_SUITE = "mmlu_ll"  # log-likelihood MMLU cannot refuse: the floor's measure by default


@dataclass
class TrustTable:
    """Scores of every reachable (ensemble, vote rule), and cascade run probabilities."""

    model: str
    baseline: str
    members: list[Member]
    rows: dict[str, dict]  # row_key(keys, rule) -> ensemble_scores row (scores, refusal rates)
    run_probability: dict[str, list[float]]  # run_key(ordered keys, rule) -> per position
    suites: dict[str, str]  # suite -> data provenance and items scored
    fingerprint: str
    groups: dict[str, list[str]] = field(default_factory=dict)  # method -> member keys
    profile: str = ""  # the scoring profile that parsed the labels and scored them

    @property
    def perspectives(self) -> tuple[str, ...]:
        """The trust perspectives this table's trust averages (those the store measured)."""
        return perspectives(self.suites)

    def row(self, keys: Iterable[str], rule: str) -> dict:
        return self.rows[row_key(keys, rule)]

    def cascade_order(self, keys: Sequence[str], order: str) -> list[str]:
        """The members of one ensemble in cascade order (ties: the stored member order)."""
        by_key = {m.key: i for i, m in enumerate(self.members)}
        idx = sorted(keys, key=by_key.__getitem__)
        bits = [self.members[by_key[k]].bits for k in idx]
        sign = 1 if order == "ascending" else -1
        return [idx[i] for i in ascending_precision_order([sign * b for b in bits])]

    def run_probabilities(self, ordered_keys: Sequence[str], rule: str) -> list[float]:
        return self.run_probability[run_key(ordered_keys, rule)]

    def member(self, key: str) -> Member:
        return next(m for m in self.members if m.key == key)

    def data_origin(self) -> str:
        """'real', 'stand-in', or e.g. 'real (fairness, mmlu_ll) + stand-in (ethics, ...)'."""
        kinds: dict[str, list[str]] = {}
        for suite, text in sorted(self.suites.items()):
            kinds.setdefault(text.split(":", 1)[0].strip(), []).append(suite)
        if len(kinds) == 1:
            return next(iter(kinds))
        return " + ".join(f"{k} ({', '.join(v)})" for k, v in sorted(kinds.items()))


def row_key(keys: Iterable[str], rule: str) -> str:
    return ",".join(sorted(keys)) + "|" + rule


def run_key(ordered_keys: Sequence[str], rule: str) -> str:
    return ",".join(ordered_keys) + "|" + rule


def method_groups(members: Sequence[Member]) -> dict[str, list[int]]:
    """Member indices per quantization method, the dense model joining every method."""
    dense = [i for i, m in enumerate(members) if m.method == "dense"]
    methods = sorted({m.method for m in members if m.method != "dense"})
    if not methods:
        return {"dense": dense}
    return {
        method: sorted(dense + [i for i, m in enumerate(members) if m.method == method])
        for method in methods
    }


def restrict(preds: StoredPredictions, idx: Sequence[int]) -> StoredPredictions:
    """The same predictions with only the members at `idx` (items unchanged)."""
    out = replace(preds, members=[preds.members[i] for i in idx], suites={})
    for name, sl in preds.suites.items():
        out.suites[name] = replace(sl, labels=sl.labels[:, list(idx)])
    return out


def fingerprint(preds: StoredPredictions, vote_rules: Sequence[str]) -> str:
    """Changes whenever a stored label, item or member changes (or the table's format)."""
    head = f"{CACHE_VERSION}|{preds.model}|{preds.profile}|{','.join(vote_rules)}"
    digest = hashlib.sha256(head.encode())
    for m in preds.members:
        digest.update(json.dumps(asdict(m), sort_keys=True).encode())
    for name in sorted(preds.suites):
        sl = preds.suites[name]
        digest.update(name.encode())
        digest.update("\x1f".join(it.key for it in sl.items).encode())
        digest.update("\x1f".join(map(str, sl.labels.ravel())).encode())
    return digest.hexdigest()


def _cascade_probabilities(preds: StoredPredictions, rule: str) -> dict[str, list[float]]:
    """Per subset and cascade order: the fraction of trust items on which each member (in
    cascade order) had to run, from the lossless early exit over the stored labels."""
    bits = preds.bits
    masks = subset_masks(len(preds.members))
    weights = vote_weights(preds) if rule == "weighted" else None
    out: dict[str, list[float]] = {}
    for order_name in CASCADE_ORDERS:
        sign = 1 if order_name == "ascending" else -1
        order = ascending_precision_order(sign * bits)
        runs = []
        for sl in preds.suites.values():
            if not sl.suite.trust:
                continue
            label_set = list(sl.suite.label_set)
            codes = encode_labels(sl.labels, label_set)
            votes = [sl.suite.refusal_vote(it) for it in sl.items]
            for vote_as in set(votes):
                idx = np.array([i for i, v in enumerate(votes) if v == vote_as])
                refusal_as = None if vote_as is None else label_set.index(vote_as)
                runs.append(
                    cascade_runs(
                        codes[idx], bits, order, masks, weights=weights, refusal_as=refusal_as
                    )
                )
        needed = np.concatenate(runs, axis=1)  # (subsets, trust items)
        for s, mask in enumerate(masks):
            ordered = [preds.members[j].key for j in order if mask[j]]
            out[run_key(ordered, rule)] = [
                float(np.mean(needed[s] >= k)) for k in range(1, len(ordered) + 1)
            ]
    return out


def _vote(preds: StoredPredictions, vote_rules: Sequence[str]) -> tuple[dict, dict]:
    rows: dict[str, dict] = {}
    runs: dict[str, list[float]] = {}
    for idx in method_groups(preds.members).values():
        group = restrict(preds, idx)
        table = ensemble_scores(group, tuple(vote_rules))
        for rec in table.to_dict("records"):
            rec.pop("subset")
            rows[row_key(rec["variant_keys"].split(","), rec["vote_rule"])] = rec
        for rule in set(table["vote_rule"]):
            runs.update(_cascade_probabilities(group, rule))
    return rows, runs


def _cache_path(fp: str) -> Path:
    return cache_dir() / "search" / f"trust-{fp[:24]}.json"


def build_trust_table(
    preds: StoredPredictions, vote_rules: Sequence[str], *, use_cache: bool = True
) -> tuple[TrustTable, bool]:
    """The trust table of `preds` and whether it came from the cache."""
    if not perspectives(preds.suites):
        raise CodesignError(
            f"the store holds no trust-perspective predictions answered by every variant of "
            f"{preds.model} ({', '.join(trust_suites())}): trust needs at least one"
        )
    fp = fingerprint(preds, vote_rules)
    path = _cache_path(fp)
    if use_cache and path.is_file():
        try:
            data = json.loads(path.read_text())
            if data.get("fingerprint") == fp:
                data["members"] = [Member(**m) for m in data["members"]]
                return TrustTable(**data), True
        except (OSError, ValueError, TypeError):
            pass  # a damaged cache is recomputed
    rows, runs = _vote(preds, vote_rules)
    groups = {
        method: [preds.members[i].key for i in idx]
        for method, idx in method_groups(preds.members).items()
    }
    table = TrustTable(
        preds.model,
        preds.baseline,
        preds.members,
        rows,
        runs,
        provenance(preds),
        fp,
        groups,
        preds.profile,
    )
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(table)))
        tmp.replace(path)
    return table, False


def finite(value: float) -> float | None:
    """NaN/inf → None (JSON null)."""
    return None if value is None or not math.isfinite(value) else float(value)
