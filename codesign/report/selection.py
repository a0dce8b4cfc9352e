"""Which configurations the ensemble view compares: the dense model, the best single variant
of each method, and the best precision ensembles (per method, and overall), with their gaps.

An ensemble "of a method" holds variants of that method only, the dense model allowed (the
paper's precision ensembles: one model at several bit-widths). Every pick is ranked by trust
on the same items it is then reported on, so a best-of-many gap is an in-sample estimate.
Ties go to the smaller ensemble, then the lower refusal rate, then majority voting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from codesign.ensembles.holdout import HeldOut
from codesign.ensembles.ranking import DENSE, OVERALL, nan_last, rank_ensembles, same_method
from codesign.report.data import TRUST, ReportData
from codesign.scoring.variants import RATES


@dataclass(frozen=True)
class Pick:
    """One compared configuration and its scores (trust, each suite, refusal rates)."""

    role: str  # "dense", "best single", "ensemble"
    group: str  # a method, "dense" or "overall"
    rank: int  # 1 = best of its group
    members: str  # member labels joined by "+"
    vote_rule: str  # "" for a single variant
    scores: dict[str, float]

    @property
    def name(self) -> str:
        return self.members + (f" ({self.vote_rule})" if self.vote_rule else "")

    @property
    def short(self) -> str:
        """Members grouped by method, e.g. 'dense + gptq w8/w3 · majority'."""
        return compact_members(self.members) + (f" · {self.vote_rule}" if self.vote_rule else "")

    @property
    def title(self) -> str:
        """What the pick is, e.g. 'best gptq ensemble' or 'best single awq'."""
        if self.role == "dense":
            return "dense"
        if self.role == "best single":
            return f"best {self.group} variant"
        where = "ensemble (any mix)" if self.group == OVERALL else f"{self.group} ensemble"
        return f"best {where}" if self.rank == 1 else f"#{self.rank} {where}"

    @property
    def size(self) -> int:
        return len(self.members.split("+"))

    def get(self, key: str) -> float:
        value = self.scores.get(key, math.nan)
        return math.nan if value is None else float(value)


def compact_members(members: str) -> str:
    groups: dict[str, list[str]] = {}
    for label in members.split("+"):
        method, _, rest = label.partition("-")
        groups.setdefault(method, [])
        if rest:
            groups[method].append(rest)
    return " + ".join(f"{m} {'/'.join(b)}" if b else m for m, b in groups.items())


def _scores_of_row(row: pd.Series, data: ReportData) -> dict[str, float]:
    keys = [TRUST, *RATES, *data.suites]
    keys += [f"{s}_{rate}" for s in data.suites for rate in RATES]
    out = {k: float(row[k]) for k in keys if k in row.index}
    out["cascade_fraction"] = float(row.get("cascade_fraction", math.nan))
    return out


def _single_scores(data: ReportData, label: str) -> dict[str, float]:
    out = {k: float(v) for k, v in data.wide("score").loc[label].items()}
    for rate in RATES:
        values = data.wide(rate).loc[label]
        out[rate] = float(values.get(TRUST, math.nan))
        out.update({f"{k}_{rate}": float(v) for k, v in values.items() if k != TRUST})
    return out


def dense_pick(data: ReportData) -> Pick | None:
    dense = data.dense
    if dense is None:
        return None
    return Pick("dense", DENSE, 1, dense.label, "", _single_scores(data, dense.label))


def best_singles(data: ReportData) -> dict[str, Pick]:
    """The best quantized variant of each method by trust (ties: lower refusal, more bits)."""
    out = {}
    for method in data.methods:
        cands = []
        for m in data.members:
            if m.method != method:
                continue
            s = _single_scores(data, m.label)
            trust = s.get(TRUST, math.nan)
            key = (
                -trust if not math.isnan(trust) else math.inf,
                s.get("refusal_rate", math.inf),
                -m.bits,
            )
            cands.append((key, m.label, s))
        if cands:
            _, label, s = min(cands, key=lambda c: c[0])
            out[method] = Pick("best single", method, 1, label, "", s)
    return out


def best_ensembles(data: ReportData, top: int = 3) -> dict[str, list[Pick]]:
    """Top ``top`` ensembles (size ≥ 2, distinct subsets) of each method, and overall."""
    table = data.ensembles
    table = rank_ensembles(table[table["size"] >= 2])
    groups = {
        m: table[table["methods"].map(lambda s, m=m: same_method(s, m))] for m in data.methods
    }
    groups[OVERALL] = table
    out = {}
    for group, rows in groups.items():
        rows = rows.drop_duplicates("subset")  # a subset once, under its better vote rule
        picks = [
            Pick("ensemble", group, i + 1, r["members"], r["vote_rule"], _scores_of_row(r, data))
            for i, (_, r) in enumerate(rows.head(top).iterrows())
        ]
        if picks:
            out[group] = picks
    return out


def reference_single(singles: dict[str, Pick], group: str) -> Pick | None:
    """The best single variant an ensemble of ``group`` is compared with."""
    if group in singles:
        return singles[group]
    if not singles:
        return None
    return max(singles.values(), key=lambda p: (nan_last(p.get(TRUST)), -p.get("refusal_rate")))


@dataclass
class Comparison:
    """The ensemble view: dense, best singles and best ensembles, with gaps in points."""

    dense: Pick | None
    singles: dict[str, Pick]
    ensembles: dict[str, list[Pick]]
    # (group, "ensemble" | "single") → the same pick made on half the items, scored on the rest
    held_out: dict[tuple[str, str], HeldOut] = field(default_factory=dict)

    def held_out_of(self, pick: Pick) -> HeldOut | None:
        """The held-out check of a best pick (rank 1 of its group); None for others."""
        if pick.rank != 1 or pick.role == "dense":
            return None
        kind = "single" if pick.role == "best single" else "ensemble"
        return self.held_out.get((pick.group, kind))

    def delta(self, pick: Pick, ref: Pick | None, key: str = TRUST) -> float:
        return math.nan if ref is None else pick.get(key) - ref.get(key)

    def figure_picks(self) -> list[Pick]:
        """Dense, best single per method, best ensemble per method, best overall if new."""
        picks = [self.dense] if self.dense else []
        picks += list(self.singles.values())
        shown = set()
        for group, ens in self.ensembles.items():
            best = ens[0]
            if group == OVERALL and best.name in shown:
                continue
            shown.add(best.name)
            picks.append(best)
        return picks

    def best_overall(self) -> Pick | None:
        return self.ensembles[OVERALL][0] if OVERALL in self.ensembles else None


def compare(
    data: ReportData, top: int = 3, held_out: dict[tuple[str, str], HeldOut] | None = None
) -> Comparison:
    """The comparison of ``data``, with the held-out checks of its best picks when given."""
    return Comparison(
        dense_pick(data), best_singles(data), best_ensembles(data, top), held_out or {}
    )
