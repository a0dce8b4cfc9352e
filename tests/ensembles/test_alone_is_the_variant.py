"""A one-member "ensemble" is the variant deployed alone: the search scores it exactly as the
report scores the variant, INVALID outputs included (no vote turns them into REFUSED)."""

from __future__ import annotations

import math

from codesign.ensembles.scores import ensemble_scores
from codesign.scoring.stored import load_predictions
from codesign.scoring.variants import variant_scores
from codesign.testing.synthetic_store import build_synthetic_store


def test_every_single_member_scores_as_its_variant(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}")
    preds = load_predictions(store)
    own = variant_scores(preds)
    alone = ensemble_scores(preds, ("majority",))
    alone = alone[alone["size"] == 1]
    assert len(alone) == len(preds.members)
    invalid_seen = False
    for _, row in alone.iterrows():
        for suite in preds.suites:
            mine = own[(own["variant"] == row["members"]) & (own["suite"] == suite)]
            score = float(mine[mine["metric"] == "score"]["value"].iloc[0])
            assert math.isclose(row[suite], score, abs_tol=1e-9) or (
                math.isnan(row[suite]) and math.isnan(score)
            ), (row["members"], suite)
            no_valid = float(mine[mine["metric"] == "no_valid_rate"]["value"].iloc[0])
            invalid_seen = invalid_seen or no_valid > 0
    assert invalid_seen  # the synthetic labels include INVALID outputs: the case that differed
