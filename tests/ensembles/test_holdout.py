"""The held-out check: picks made on one half of the items, scored on the other."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codesign.ensembles.holdout import held_out_gains, split_halves
from codesign.ensembles.ranking import OVERALL
from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.scoring.stored import StoredPredictions, SuiteLabels, load_predictions
from codesign.store import Store
from tests.report.store_builder import build_report_store

SUITES = ["adv_robustness", "ethics", "ood", "fairness", "mmlu_ll"]


@pytest.fixture(scope="module")
def preds(tmp_path_factory) -> StoredPredictions:
    url = f"sqlite:///{tmp_path_factory.mktemp('holdout') / 's.db'}"
    build_report_store(url, suites=SUITES)
    return load_predictions(Store(url, create=False), profile="strict")  # labels as stored


def test_halves_are_disjoint_cover_every_item_and_split_each_setting_evenly(preds):
    first, second = split_halves(preds, np.random.default_rng(3))
    for name, sl in preds.suites.items():
        a = [it.key for it in first.suites[name].items]
        b = [it.key for it in second.suites[name].items]
        assert not set(a) & set(b)
        assert sorted(a + b) == sorted(it.key for it in sl.items)
        for setting in {it.setting for it in sl.items}:
            n_a = sum(it.setting == setting for it in first.suites[name].items)
            n_b = sum(it.setting == setting for it in second.suites[name].items)
            assert abs(n_a - n_b) <= 1, (name, setting)
        # labels travel with their items
        index = {it.key: i for i, it in enumerate(sl.items)}
        for it, row in zip(first.suites[name].items, first.suites[name].labels, strict=True):
            assert list(row) == list(sl.labels[index[it.key]])


def test_every_method_and_overall_gets_one_gap_per_split(preds):
    held = held_out_gains(preds, splits=4, seed=1)
    methods = {m.method for m in preds.members} - {"dense"}
    assert set(held) == {(g, k) for g in [*methods, OVERALL] for k in ("ensemble", "single")}
    for (group, kind), h in held.items():
        assert len(h.gaps) == len(h.picks) and len(h.gaps) + h.unscored == 4
        assert h.gaps and all(math.isfinite(g) for g in h.gaps)
        if kind == "ensemble":
            assert all("+" in p for p in h.picks)  # size ≥ 2
        if group != OVERALL:
            assert all(group in p for p in h.picks)
    again = held_out_gains(preds, splits=4, seed=1)
    assert [h.gaps for h in again.values()] == [h.gaps for h in held.values()]


def test_variants_that_answer_exactly_like_dense_gain_nothing_held_out(preds):
    """Every member a copy of dense: any pick scores like dense on any half. (An item every
    member answered unparseably becomes REFUSED by the vote, Algorithm 1, which OOD knowledge
    counts as a refusal rather than a wrong answer; the copies say REFUSED there already.)"""
    clones = StoredPredictions(preds.model, preds.baseline, preds.members)
    for name, sl in preds.suites.items():
        same = np.repeat(sl.labels[:, :1], len(preds.members), axis=1)
        same = np.where(same == INVALID, REFUSED, same)
        clones.suites[name] = SuiteLabels(sl.suite, sl.items, same, sl.provenance)
    held = held_out_gains(clones, splits=3, seed=0)
    assert held and all(h.gaps for h in held.values())
    assert all(g == pytest.approx(0.0) for h in held.values() for g in h.gaps)


def test_without_a_dense_variant_there_is_nothing_to_check(preds):
    quantized = [m for m in preds.members if m.method != "dense"]
    cols = [i for i, m in enumerate(preds.members) if m.method != "dense"]
    no_dense = StoredPredictions(preds.model, preds.baseline, quantized)
    for name, sl in preds.suites.items():
        no_dense.suites[name] = SuiteLabels(sl.suite, sl.items, sl.labels[:, cols], sl.provenance)
    assert held_out_gains(no_dense, splits=2) == {}
    assert held_out_gains(None) == {}


def test_text_gives_mean_spread_and_wins():
    from codesign.ensembles.holdout import HeldOut

    h = HeldOut("gptq", "ensemble", ["a", "a", "b"], [1.0, 2.0, -0.5])
    assert h.text() == "+0.8 ± 1.3 (2/3 > 0)"
    assert h.most_picked == ("a", 2)
    assert HeldOut("gptq", "single").text() == "—"
    h.add("c", math.nan)
    assert h.text() == "+0.8 ± 1.3 (2/3 > 0, 1 unscored)" and len(h.picks) == 3
