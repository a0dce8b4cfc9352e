"""What a report shows, gathered from the store once: per-variant and per-ensemble scores, and
the data (real or stand-in, item counts) behind every suite.

Single variants are scored from their own labels (``variant_scores``, no voting); ensembles
by voting every subset (``ensemble_scores``). Trust is the mean of the trust perspectives the
store holds: all four when the store is complete, and then equal to ``ensemble_scores``'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from codesign.ensembles.scores import ensemble_scores
from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.base import REAL, STAND_IN
from codesign.measurements.evaluate.suites import SUITES, suite_order, trust_suites
from codesign.measurements.quality import LOGITS_ERROR
from codesign.scoring.profiles import DEFAULT_PROFILE, PROFILES
from codesign.scoring.stored import Member, StoredPredictions, load_predictions, provenance
from codesign.scoring.trust import perspectives
from codesign.scoring.variants import RATES, variant_scores
from codesign.store import Store

TRUST = "trust"


def title(name: str) -> str:
    """A suite's title from its registration (trust: the mean of the trust perspectives)."""
    if name == TRUST:
        return "Trust (mean)"
    return SUITES.get(name).title if name in SUITES else name


def short(name: str) -> str:
    """A suite's short name for narrow columns, from its registration."""
    if name == TRUST:
        return "trust"
    return SUITES.get(name).short if name in SUITES else name


MEASURED = "measured: per-item predictions in the store (no model run for this report)"


@dataclass(frozen=True)
class SuiteInfo:
    """One measured suite: what data it used and how many items every variant answered."""

    name: str
    perspective: str
    data_kind: str  # "real", "stand-in" or "real+stand-in"
    n_items: int
    provenance: str
    can_refuse: bool

    @property
    def title(self) -> str:
        return title(self.name)

    @property
    def partial(self) -> bool:
        """Some setting or part of the perspective could not run on the data given (its data
        label names which), so the score covers the rest only."""
        return "not run" in self.provenance

    @property
    def data_line(self) -> str:
        """e.g. 'stand-in data, 28 items' — the short form every figure panel carries."""
        line = f"{self.data_kind} data, {self.n_items} items"
        return f"{line}, partial" if self.partial else line


@dataclass
class ReportData:
    """Everything the figures and tables need, scored once."""

    model: str
    baseline: str
    store: str  # the store URL, password hidden
    members: list[Member]
    suites: dict[str, SuiteInfo]  # display order: trust perspectives, then MMLU
    variants: pd.DataFrame  # long: one row per (variant, suite, metric), trust rows included
    ensembles: pd.DataFrame  # one row per (subset, vote rule), trust over measured suites
    preds: StoredPredictions | None = None  # the stored labels, for the held-out check
    # {member key: relative logits error vs dense}, measured by `evaluate` (quality.py)
    logits_error: dict[str, float] = field(default_factory=dict)

    @property
    def trust_suites(self) -> list[str]:
        return list(perspectives(self.suites))

    @property
    def trust_label(self) -> str:
        """How trust was computed, said plainly when the store lacks a perspective."""
        measured = self.trust_suites
        if len(measured) == len(trust_suites()):
            return "trust = mean of the 4 trust perspectives"
        if not measured:
            return "trust: no trust perspective measured"
        missing = [p for p in trust_suites() if p not in measured]
        return (
            f"trust = mean of the {len(measured)} perspectives measured "
            f"({', '.join(measured)}; missing: {', '.join(missing)})"
        )

    @property
    def scoring(self) -> str:
        """The scoring profile's one line (every output names it)."""
        profile = self.preds.profile if self.preds else DEFAULT_PROFILE
        return PROFILES.get(profile).title

    @property
    def dense(self) -> Member | None:
        return next((m for m in self.members if m.method == "dense"), None)

    @property
    def methods(self) -> list[str]:
        """Quantization methods in store order (dense excluded)."""
        return list(dict.fromkeys(m.method for m in self.members if m.method != "dense"))

    def wide(self, metric: str = "score") -> pd.DataFrame:
        """Variants × (trust, suites): one metric per cell, rows in store order."""
        rows = self.variants[self.variants["metric"] == metric]
        table = rows.pivot_table(index="variant", columns="suite", values="value", dropna=False)
        cols = [TRUST, *self.suites] if TRUST in table.columns else list(self.suites)
        return table.reindex(index=[m.label for m in self.members], columns=cols)

    def data_summary(self) -> str:
        """One line naming every suite's data kind and item count."""
        return "; ".join(f"{short(s)}: {i.data_line}" for s, i in self.suites.items())


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def open_store(url: str) -> Store:
    """Open an existing store for reading; a missing SQLite file is an error, not created."""
    return Store(url, read_only=True)


def data_kind(prov: str) -> str:
    """'real', 'stand-in' or 'real+stand-in' from a suite's provenance string."""
    head = prov.split(":", 1)[0].strip()
    kinds = {k for k in head.split("+") if k in (REAL, STAND_IN)}
    if kinds == {REAL}:
        return REAL
    if kinds == {STAND_IN}:
        return STAND_IN
    return f"{REAL}+{STAND_IN}" if kinds else "unknown"


def _suite_infos(preds: StoredPredictions) -> dict[str, SuiteInfo]:
    prov = provenance(preds)
    names = [s for s in suite_order() if s in preds.suites]
    out = {}
    for name in names:
        sl = preds.suites[name]
        out[name] = SuiteInfo(
            name=name,
            perspective=sl.suite.perspective,
            data_kind=data_kind(sl.provenance),
            n_items=len(sl.items),
            provenance=prov[name],
            can_refuse=sl.suite.kind != "loglik",
        )
    return out


def _mean_or_nan(values: list[float]) -> float:
    if not values or any(v is None or math.isnan(v) for v in values):
        return math.nan
    return sum(values) / len(values)


def _trust_rows(long: pd.DataFrame, measured: list[str]) -> pd.DataFrame:
    """Per variant: trust (mean perspective score) and the mean perspective refusal,
    no-valid-answer and unanswered rates."""
    rows = []
    if not measured:
        return pd.DataFrame(rows)
    sub = long[long["suite"].isin(measured)]
    for _, g in sub.groupby("variant", sort=False):
        first = g.iloc[0]
        for metric in ("score", *RATES):
            vals = g[g["metric"] == metric].set_index("suite")["value"]
            rows.append(
                {
                    **{k: first[k] for k in ("variant", "method", "bits", "seed")},
                    "suite": TRUST,
                    "perspective": TRUST,
                    "metric": metric,
                    "value": _mean_or_nan([float(vals.get(s, math.nan)) for s in measured]),
                    "n_items": int(g.drop_duplicates("suite")["n_items"].sum()),
                    "data": f"mean over {', '.join(measured)}",
                }
            )
    return pd.DataFrame(rows)


def _variants_long(preds: StoredPredictions, suites: dict[str, SuiteInfo]) -> pd.DataFrame:
    long = variant_scores(preds)
    measured = list(perspectives(suites))
    long = pd.concat([_trust_rows(long, measured), long], ignore_index=True)
    by_label = {m.label: m for m in preds.members}
    long.insert(0, "model", preds.model)
    long.insert(1, "baseline", preds.baseline)
    long.insert(2, "scoring", preds.profile)
    long.insert(4, "variant_key", long["variant"].map(lambda v: by_label[v].key))
    long.insert(8, "group_size", long["variant"].map(lambda v: by_label[v].group_size))
    long["data_kind"] = long["suite"].map(
        lambda s: suites[s].data_kind if s in suites else "derived"
    )
    dense = next((m.label for m in preds.members if m.method == "dense"), None)
    ref = long[long["variant"] == dense].set_index(["suite", "metric"])["value"]
    long["delta_vs_dense"] = [
        v - ref.get((s, m), math.nan)
        for s, m, v in zip(long.suite, long.metric, long.value, strict=True)
    ]
    return long


def _ensembles(preds: StoredPredictions, suites: dict[str, SuiteInfo]) -> pd.DataFrame:
    table = ensemble_scores(preds)
    measured = list(perspectives(suites))
    if measured:  # trust: ensemble_scores' (the perspectives measured); rates skip a NaN
        for rate in RATES:
            table[rate] = table[[f"{s}_{rate}" for s in measured]].mean(axis=1)
    table.insert(0, "model", preds.model)
    table.insert(1, "baseline", preds.baseline)
    table.insert(2, "scoring", preds.profile)
    for name, info in suites.items():
        table[f"{name}_data"] = info.data_kind
        table[f"{name}_n_items"] = info.n_items
    return table


def load_report_data(
    store_url: str,
    model: str | None = None,
    status: Callable[[str], None] = lambda s: None,
    profile: str = DEFAULT_PROFILE,
) -> ReportData:
    """Read the store and score every variant and every ensemble subset under ``profile``
    (stored outputs re-parsed; no model runs)."""
    store = open_store(store_url)
    preds = load_predictions(store, model, profile)
    if not preds.suites:
        raise CodesignError(
            f"no suite has items answered by every variant of {preds.model!r}: "
            "finish `evaluate` for every variant first"
        )
    suites = _suite_infos(preds)
    status(f"scoring {len(preds.members)} variants")
    variants = _variants_long(preds, suites)
    status(f"voting {2 ** len(preds.members) - 1} ensemble subsets")
    ensembles = _ensembles(preds, suites)
    return ReportData(
        model=preds.model,
        baseline=preds.baseline,
        store=redact(store_url),
        members=list(preds.members),
        suites=suites,
        variants=variants,
        ensembles=ensembles,
        preds=preds,
        logits_error={k: v for k, (v, _) in store.variant_metrics(LOGITS_ERROR).items()},
    )
