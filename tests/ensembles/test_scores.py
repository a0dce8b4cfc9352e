"""Scores from the store: per variant, and every ensemble subset by vectorised voting."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.ensembles.scores import _vote_suite, ensemble_scores
from codesign.ensembles.vote import encode_labels, subset_masks
from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.scoring.stored import load_predictions
from codesign.scoring.variants import variant_scores
from codesign.testing.synthetic_store import build_store
from tests.ensembles.voting_reference import reference_vote


@pytest.fixture(scope="module")
def preds(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('scoring') / 's.db'}"
    store = build_store(
        url,
        variants=(("dense", 16), ("gptq", 8), ("gptq", 4), ("gptq", 3)),
        suites=["ethics", "ood", "mmlu_ll"],
    )
    # strict: the synthetic labels as stored (the voting and scoring mechanics under test);
    # the profiles' own parsers are tested in tests/scoring/test_profiles.py
    return load_predictions(store, profile="strict")


def test_every_subset_and_vote_rule_gets_a_row(preds):
    table = ensemble_scores(preds)
    assert len(table) == 2 * (2**4 - 1)  # majority and weighted (MMLU-LL weights exist)
    assert set(table["vote_rule"]) == {"majority", "weighted"}
    assert table["cascade_fraction"].between(0, 1).all()
    assert (table.loc[table["size"] == 1, "cascade_fraction"] == 1).all()


@pytest.mark.parametrize("suite", ["ethics", "ood"])
def test_vectorised_ensemble_labels_equal_the_per_item_algorithm(preds, suite):
    sl = preds.suites[suite]
    masks = subset_masks(len(preds.members))
    labels, _, _ = _vote_suite(sl, preds.bits, masks, None)
    codes = encode_labels(sl.labels, list(sl.suite.label_set))
    label_set = list(sl.suite.label_set)
    for s, mask in enumerate(masks):
        cols = np.flatnonzero(mask)
        if len(cols) == 1:  # a member alone is not voted: its own labels
            assert list(encode_labels(labels[s], label_set)) == list(codes[:, cols[0]])
            continue
        for i, it in enumerate(sl.items):
            vote_as = sl.suite.refusal_vote(it)
            ref = reference_vote(
                codes[i, cols],
                preds.bits[cols],
                refusal_as=None if vote_as is None else label_set.index(vote_as),
            )
            expected = encode_labels([labels[s, i]], label_set)[0]
            assert ref == expected, (suite, s, i)


def test_a_one_member_ensemble_scores_like_the_variant(preds):
    table = ensemble_scores(preds, vote_rules=("majority",))
    singles = variant_scores(preds)
    for member in preds.members:  # INVALID outputs too: a member alone is not voted
        own = singles[
            (singles["variant"] == member.label)
            & (singles["suite"] == "ethics")
            & (singles["metric"] == "score")
        ]["value"].item()
        row = table[(table["size"] == 1) & (table["members"] == member.label)]
        assert row["ethics"].item() == pytest.approx(own)


def test_no_valid_rate_counts_items_where_every_member_is_invalid(preds):
    """A single variant's no-valid rate is its INVALID share; an ensemble's is the share of
    items on which all its members are INVALID (and which the vote therefore calls REFUSED; a
    member alone is not voted, so its INVALID outputs stay INVALID)."""
    table = ensemble_scores(preds, vote_rules=("majority",))
    singles = variant_scores(preds)
    sl = preds.suites["ethics"]
    invalid = sl.labels == INVALID
    assert invalid.any() and not invalid.all()  # the synthetic store has some, not only
    for s, mask in enumerate(subset_masks(len(preds.members))):
        row = table.iloc[s]
        expected = invalid[:, mask].all(axis=1).mean()
        assert row["ethics_no_valid_rate"] == pytest.approx(expected)
        if mask.sum() == 1:  # a member alone keeps its own INVALID outputs (not voted)
            unanswered = np.isin(sl.labels[:, mask][:, 0], [INVALID, REFUSED]).mean()
            assert row["ethics_unanswered_rate"] == pytest.approx(unanswered)
            continue
        assert row["ethics_refusal_rate"] >= row["ethics_no_valid_rate"]
        # the vote never returns INVALID, so "unanswered" is its refusal share
        assert row["ethics_unanswered_rate"] == pytest.approx(row["ethics_refusal_rate"])
    for j, member in enumerate(preds.members):
        own = singles[
            (singles["variant"] == member.label)
            & (singles["suite"] == "ethics")
            & (singles["metric"] == "no_valid_rate")
        ]["value"].item()
        assert own == pytest.approx(invalid[:, j].mean())
        unanswered = singles[
            (singles["variant"] == member.label)
            & (singles["suite"] == "ethics")
            & (singles["metric"] == "unanswered_rate")
        ]["value"].item()
        assert unanswered == pytest.approx(np.isin(sl.labels[:, j], [INVALID, REFUSED]).mean())


def test_provenance_names_stand_in_and_real_data(preds):
    from codesign.scoring.stored import provenance

    prov = provenance(preds)
    assert "stand-in" in prov["ethics"] and "real" in prov["mmlu_ll"]
    assert "items scored" in prov["ood"]
