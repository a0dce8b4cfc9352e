"""How ensembles are ranked and grouped, shared by the in-sample picks (selection) and their
held-out checks (holdout)."""

from __future__ import annotations

import math

import pandas as pd

DENSE = "dense"
OVERALL = "overall"  # the group of ensembles mixing any methods


def same_method(methods: str, method: str) -> bool:
    """True when an ensemble's methods are ``method`` alone, or with the dense model."""
    return set(methods.split(",")) - {DENSE} == {method}


def rank_ensembles(table: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted best first: trust, then smaller size, lower refusal, majority, subset."""
    keyed = table.assign(
        _trust=table["trust"].fillna(-math.inf),
        _refusal=table["refusal_rate"].fillna(math.inf),
        _rule=(table["vote_rule"] != "majority").astype(int),
    )
    keyed = keyed.sort_values(
        ["_trust", "size", "_refusal", "_rule", "subset"],
        ascending=[False, True, True, True, True],
        kind="mergesort",
    )
    return keyed.drop(columns=["_trust", "_refusal", "_rule"])


def nan_last(x: float) -> float:
    """A sort key that ranks NaN below every number."""
    return -math.inf if math.isnan(x) else x
