"""Stored predictions arranged for voting: per suite, an items × members table of labels.

Items are those every member answered, so every row scored from one table scores the same
items. The suite of each stored prediction comes from the suite registry; the item itself is
rebuilt from what the store kept beside the prediction (no data set is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from codesign.errors import CodesignError
from codesign.measurements.evaluate.suites import SUITES, Suite, SuiteItem
from codesign.measurements.evaluate.suites.base import suite_item_from_stored
from codesign.scoring.profiles import DEFAULT_PROFILE, PROFILES, ScoringProfile
from codesign.store import Store, variant_label


@dataclass(frozen=True)
class Member:
    """One stored variant as an ensemble member."""

    key: str
    label: str
    method: str
    bits: int
    seed: int
    group_size: int | None


@dataclass
class SuiteLabels:
    """One suite's labels under one scoring profile: items × members, over the items every
    member answered."""

    suite: Suite
    items: list[SuiteItem]
    labels: np.ndarray  # (n_items, m) of str
    provenance: str
    profile: ScoringProfile | None = None  # None: the suite's own parser and formulas

    def score(self, labels: Sequence[str]) -> dict[str, float]:
        """Metrics of one column of labels (a variant's, or an ensemble's vote)."""
        if self.profile is None:
            return self.suite.score(self.items, labels)
        return self.profile.score(self.suite, self.items, labels)


@dataclass
class StoredPredictions:
    model: str
    baseline: str
    members: list[Member]
    suites: dict[str, SuiteLabels] = field(default_factory=dict)
    runtimes: dict[str, str] = field(default_factory=dict)  # variant key → how it last ran
    profile: str = DEFAULT_PROFILE  # the scoring profile that parsed and scores the labels
    superseded: dict[str, int] = field(default_factory=dict)  # suite -> rows of an old protocol
    # variant label -> keys of older variants it replaced (e.g. a nested set of an older
    # construction version): one member per label, the most recently stored
    replaced: dict[str, list[str]] = field(default_factory=dict)

    @property
    def bits(self) -> np.ndarray:
        return np.array([m.bits for m in self.members])


def current_protocol(frame: pd.DataFrame) -> pd.Series:
    """Per stored prediction: whether it was made under its suite's current prompt protocol
    and under the prompt template the suite's latest output was made with (outputs of an
    older protocol, or of another template than the latest, are neither scored nor counted
    as measured: two templates' answers to one item are never both voted)."""
    protocols = frame["extra"].map(lambda e: (e or {}).get("protocol", ""))
    wanted = frame["suite"].map(lambda s: SUITES.get(s).protocol if s in SUITES else None)
    current = protocols == wanted
    templates = pd.Series(
        [_template(s, e) for s, e in zip(frame["suite"], frame["extra"], strict=True)],
        index=frame.index,
    )
    if "row_id" not in frame or not current.any():
        return current
    latest = frame[current].sort_values("row_id").groupby("suite").tail(1)
    chosen = dict(zip(latest["suite"], templates[latest.index], strict=True))
    return current & (templates == frame["suite"].map(chosen))


def _template(suite: str, extra: dict | None) -> str:
    """The prompt template a stored output names; outputs stored before templates were
    recorded were rendered by the model's own chat template (or as raw text)."""
    named = (extra or {}).get("template")
    if named:
        return named
    return "model" if suite not in SUITES or SUITES.get(suite).chat else "raw text"


def load_predictions(
    store: Store, model: str | None = None, profile: str = DEFAULT_PROFILE
) -> StoredPredictions:
    """Every stored prediction of one model, arranged per suite as an items × members table of
    labels that ``profile`` parsed from the stored raw generations (no model runs)."""
    scoring = PROFILES.get(profile)
    frame = store.predictions_frame()
    if frame.empty:
        raise CodesignError("the store holds no predictions yet: run `evaluate` first")
    models = sorted(frame["model"].unique())
    if model is None:
        if len(models) > 1:
            raise CodesignError(f"the store holds several models ({', '.join(models)}); name one")
        model = models[0]
    frame = frame[frame["model"] == model]
    if frame.empty:
        raise CodesignError(f"no predictions stored for model {model!r} (stored: {models})")
    frame, replaced = _latest_per_label(store, model, frame)
    keys = frame.drop_duplicates("variant_key").sort_values(
        ["bits", "method"], ascending=[False, True]
    )
    members = [
        Member(
            r.variant_key,
            variant_label(r.method, r.bits, r.seed),
            r.method,
            int(r.bits),
            int(r.seed),
            None if pd.isna(r.group_size) else int(r.group_size),
        )
        for r in keys.itertuples()
    ]
    out = StoredPredictions(model, str(keys["baseline"].iloc[0]), members, profile=profile)
    out.replaced = replaced
    last_extra = frame.groupby("variant_key")["extra"].last()
    out.runtimes = {k: (e or {}).get("runtime") or "" for k, e in last_extra.items()}
    order = [m.key for m in members]
    frame = frame.assign(current=current_protocol(frame))
    for suite_name, sf in frame.groupby("suite"):
        if suite_name not in SUITES:
            continue
        suite = SUITES.get(suite_name)
        if not sf["current"].all():  # outputs of an older prompt protocol
            out.superseded[suite_name] = int((~sf["current"]).sum())
            sf = sf[sf["current"]]
            if sf.empty:
                continue
        labels = _suite_labels(suite, sf, order, scoring)
        if labels is not None:
            out.suites[suite_name] = labels
    return out


def _suite_labels(
    suite: Suite, sf: pd.DataFrame, order: list[str], scoring: ScoringProfile
) -> SuiteLabels | None:
    """One suite's stored rows as an items × members table of labels ``scoring`` parsed, over
    the items every member answered (None when there is none)."""
    extras = sf.drop_duplicates("item_id").set_index("item_id")["extra"]
    items_by_id = {k: suite_item_from_stored(k, e) for k, e in extras.items()}
    if scoring.reparse and suite.kind == "generate":
        sf = sf.assign(
            label=[
                scoring.parse(suite, items_by_id[i], raw)
                for i, raw in zip(sf["item_id"], sf["raw"], strict=True)
            ]
        )
    table = sf.pivot_table(index="item_id", columns="variant_key", values="label", aggfunc="first")
    table = table.reindex(columns=order).dropna()  # items every member answered
    if table.empty:
        return None
    items = [items_by_id[k] for k in table.index]
    data = f"{extras.iloc[0]['data']}; prompt template: {_template(suite.name, extras.iloc[0])}"
    return SuiteLabels(suite, items, table.to_numpy(dtype=object), data, scoring)


def _latest_per_label(
    store: Store, model: str, frame: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One variant per label (method, bits, seed): where a recipe changed (a new nested-set
    construction, another backend version) and both were evaluated, the most recently stored
    variant is the member; the older ones are named, not voted."""
    ids = {v.key: v.id for v, _ in store.variants(model)}
    keys = frame.drop_duplicates("variant_key")
    labels = {r.variant_key: variant_label(r.method, r.bits, r.seed) for r in keys.itertuples()}
    by_label: dict[str, list[str]] = {}
    for key, label in labels.items():
        by_label.setdefault(label, []).append(key)
    replaced = {}
    for label, found in by_label.items():
        if len(found) > 1:
            found.sort(key=lambda k: ids.get(k, -1))
            replaced[label] = found[:-1]
    if not replaced:
        return frame, {}
    old = {k for ks in replaced.values() for k in ks}
    return frame[~frame["variant_key"].isin(old)], replaced


def provenance(preds: StoredPredictions) -> dict[str, str]:
    """Per suite: real or stand-in data, and item counts (every report prints this)."""
    return {
        name: f"{sl.provenance}; {len(sl.items)} items scored" for name, sl in preds.suites.items()
    }
