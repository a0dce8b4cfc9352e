"""The report's held-out check, carried onto the search's front.

A front row's trust gain over dense is measured on the items the front was chosen on, so the
best rows are optimistic (summary: "+6.8 [−8.2, +18.8]" for a gain that is +0.6 ± 4.5 held
out). `ensembles.holdout` picks the best ensemble (and the best single variant) of each method
on a random half of every suite's items and scores that pick against dense on the other half,
20 times, the report's splits. Here each front row gets its group's check (its method, ensemble
or single), how often the row itself was that pick, and its mean held-out gain when it was.
A gain "holds out" when the group's held-out gain is positive on average and in at least
HOLDS_SHARE of the splits.
"""

from __future__ import annotations

import statistics
from typing import Any

from codesign.ensembles.holdout import HOLDOUT_SPLITS, HeldOut, held_out_gains
from codesign.scoring.stored import StoredPredictions

HOLDS_SHARE = 0.75  # 15 of 20 splits: a gain that is positive by chance half the time fails
HOW = (
    f"pick the best of the row's group (its method; ensembles of 2+ members, or single "
    f"variants) on a random half of every suite's items, score the pick minus dense on the "
    f"other half; {HOLDOUT_SPLITS} splits, stratified by setting, as `report`'s"
)


def _pick_key(text: str) -> tuple[frozenset[str], str]:
    """'a+b (majority)' or 'a' → ({a, b}, rule) — the held-out pick as a comparable key."""
    members, _, rule = text.partition(" (")
    return frozenset(members.split("+")), rule.rstrip(")")


def _row_key(row: dict[str, Any]) -> tuple[frozenset[str], str]:
    rule = row["vote_rule"] if row["ensemble_size"] > 1 else ""
    return frozenset(str(row["members"]).split("+")), rule


def holds(held: HeldOut | None) -> bool:
    """Whether a group's gain over dense survives held out (see the module's rule)."""
    if held is None or not held.gaps:
        return False
    return held.mean > 0 and held.positive >= HOLDS_SHARE * len(held.gaps)


def row_check(row: dict[str, Any], checks: dict[tuple[str, str], HeldOut]) -> dict[str, Any]:
    """The held-out fields of one front row (nothing for the dense model alone: it is the
    reference, with no gain to check)."""
    if row["method"] == "dense" and row["ensemble_size"] == 1:
        return {"held_out": None}
    kind = "ensemble" if row["ensemble_size"] > 1 else "single"
    held = checks.get((row["method"], kind))
    if held is None:
        return {"held_out": None}
    mine = _row_key(row)
    when = [g for p, g in zip(held.picks, held.gaps, strict=True) if _pick_key(p) == mine]
    return {
        "held_out": {
            "group": f"{row['method']} {kind}",
            "gain_mean": held.mean,
            "gain_sd": held.sd,
            "positive_splits": held.positive,
            "splits": len(held.gaps),
            "text": held.text(),
            "holds": holds(held),
            "picked_splits": len(when),
            "gain_when_picked": statistics.fmean(when) if when else None,
            "how": HOW,
        }
    }


def attach(rows: list[dict[str, Any]], preds: StoredPredictions | None) -> None:
    """Add each row's held-out check in place (votes every subset twice per split)."""
    checks = held_out_gains(preds) if preds is not None else {}
    for row in rows:
        row |= row_check(row, checks)
