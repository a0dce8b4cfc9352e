"""The trust table: voted once per store, the same scores as voting the whole store, cached."""

from __future__ import annotations

import math

import numpy as np

from codesign.ensembles.scores import ensemble_scores
from codesign.scoring.stored import load_predictions
from codesign.search.trust import build_trust_table, row_key
from codesign.store import Store
from codesign.testing.synthetic_store import build_synthetic_store

SMALL = (("dense", 16), ("gptq", 4), ("gptq", 3))


def test_rows_equal_the_scores_of_voting_every_stored_subset(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=SMALL)
    preds = load_predictions(store)
    table, cached = build_trust_table(preds, ("majority", "weighted"), use_cache=False)
    assert not cached
    full = ensemble_scores(preds)
    assert len(full) == len(table.rows) == 7 * 2
    for rec in full.to_dict("records"):
        mine = table.rows[row_key(rec["variant_keys"].split(","), rec["vote_rule"])]
        for col in ("trust", "adv_robustness", "fairness", "ethics", "ood", "mmlu_ll"):
            assert math.isclose(mine[col], rec[col], rel_tol=1e-12) or (
                math.isnan(mine[col]) and math.isnan(rec[col])
            )
        # E[members run] = sum over cascade positions of P(position runs): the scoring stage's
        # cascade cost (ascending precision) follows from the per-member run probabilities
        keys = table.cascade_order(rec["variant_keys"].split(","), "ascending")
        probs = table.run_probabilities(keys, rec["vote_rule"])
        assert probs[0] == 1.0 and all(a >= b for a, b in zip(probs, probs[1:], strict=False))
        assert np.isclose(sum(probs) / rec["size"], rec["cascade_fraction"])


def test_cascade_order_puts_the_cheapest_or_the_most_precise_member_first(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=SMALL)
    table, _ = build_trust_table(load_predictions(store), ("majority",), use_cache=False)
    keys = [m.key for m in table.members]
    bits = {m.key: m.bits for m in table.members}
    assert [bits[k] for k in table.cascade_order(keys, "ascending")] == [3, 4, 16]
    assert [bits[k] for k in table.cascade_order(keys, "descending")] == [16, 4, 3]
    for order in ("ascending", "descending"):
        probs = table.run_probabilities(table.cascade_order(keys, order), "majority")
        assert probs[:2] == [1.0, 1.0]  # with three members the first two always run


def test_the_table_is_cached_until_a_stored_label_changes(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = build_synthetic_store(url, variants=SMALL)
    first, cached = build_trust_table(load_predictions(store), ("majority",))
    again, cached_again = build_trust_table(load_predictions(Store(url)), ("majority",))
    assert not cached and cached_again and again.rows.keys() == first.rows.keys()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "update predictions set label='INVALID', raw='INVALID' "
            "where id=(select min(id) from predictions)"
        )
    changed, cached_changed = build_trust_table(load_predictions(Store(url)), ("majority",))
    assert not cached_changed and changed.fingerprint != first.fingerprint
