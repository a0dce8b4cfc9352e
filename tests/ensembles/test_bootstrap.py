"""Trust intervals: the point is the ensemble table's trust, intervals hold it, pairing works."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codesign.ensembles.bootstrap import trust_intervals
from codesign.ensembles.scores import ensemble_scores
from codesign.scoring.stored import load_predictions
from codesign.testing.synthetic_store import build_synthetic_store


@pytest.fixture(scope="module")
def preds(tmp_path_factory):
    path = tmp_path_factory.mktemp("boot") / "s.db"
    return load_predictions(build_synthetic_store(f"sqlite:///{path}", limit=8))


def _key(preds, label):
    return next(m.key for m in preds.members if m.label == label)


def test_point_trust_is_the_ensemble_tables_and_lies_inside_its_interval(preds):
    table = ensemble_scores(preds)
    rows = table[table["size"].isin([1, 2, 3])].head(12)
    configs = [(tuple(r["variant_keys"].split(",")), r["vote_rule"]) for _, r in rows.iterrows()]
    got = trust_intervals(preds, configs, n_boot=200)
    for (_, row), ci in zip(rows.iterrows(), got, strict=True):
        assert math.isclose(ci.trust, row["trust"], abs_tol=1e-9)
        assert ci.low <= ci.trust <= ci.high
        assert ci.high - ci.low > 0  # tens of items: trust is uncertain
        assert ci.replicates == 200


def test_dense_against_itself_is_a_zero_gap_and_the_best_is_marked(preds):
    dense = _key(preds, next(m.label for m in preds.members if m.method == "dense"))
    weak = next(m.key for m in preds.members if m.bits == 3)
    (d, w) = trust_intervals(preds, [((dense,), "majority"), ((weak,), "majority")], n_boot=300)
    assert d.vs_dense == 0 and d.vs_dense_low == 0 and d.vs_dense_high == 0
    best, other = (d, w) if d.trust >= w.trust else (w, d)
    assert best.indistinguishable_from_best
    assert best.vs_best_low == best.vs_best_high == 0
    # the other's gap interval is the paired one: consistent with its flag
    assert other.indistinguishable_from_best == (other.vs_best_low <= 0)


def test_pairing_narrows_the_gap_between_configurations_sharing_their_errors(preds):
    """The same ensemble listed twice is indistinguishable from itself with a zero-width gap,
    though each interval alone is wide: the draws are shared."""
    keys = tuple(m.key for m in preds.members if m.method == "gptq")
    a, b = trust_intervals(preds, [(keys, "majority"), (keys[::-1], "majority")], n_boot=200)
    assert a == b
    assert a.vs_best_low == a.vs_best_high == 0 and a.high > a.low


def test_a_clearly_worse_configuration_is_distinguishable(tmp_path):
    """With enough items, dense (right ~85 %) and a 3-bit member (~45 %) are told apart."""
    preds = load_predictions(build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", limit=40))
    dense = next(m.key for m in preds.members if m.method == "dense")
    weak = next(m.key for m in preds.members if m.bits == 3 and m.method == "gptq")
    d, w = trust_intervals(preds, [((dense,), "majority"), ((weak,), "majority")], n_boot=300)
    assert d.trust > w.trust
    assert not w.indistinguishable_from_best and w.vs_best_low > 0
    assert w.vs_dense_high < 0 and np.isclose(w.vs_dense, w.trust - d.trust)


def test_refuses_configurations_it_cannot_pair(preds):
    with pytest.raises(ValueError):
        trust_intervals(preds, [(("no-such-key",), "majority")], n_boot=10)
    with pytest.raises(ValueError):
        trust_intervals(preds, [], n_boot=10)
