"""A label answered by two stored variants (a recipe that changed: a newer nested-set version)
is voted once, as the most recently stored variant; the older one is named, not voted."""

from __future__ import annotations

from codesign.scoring.stored import load_predictions
from codesign.testing.synthetic_store import (
    add_predictions,
    add_variant,
    build_synthetic_store,
    suite_data,
)


def test_the_latest_variant_of_a_label_is_the_member(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=(("dense", 16),))
    model_id = store.variants()[0][1].id
    data = suite_data("ethics", 3)
    for key in ("anyprec-w4-v1", "anyprec-w4-v2"):
        vid = add_variant(store, model_id, key, "anyprec", 4)
        wrong = key.endswith("v1")  # the older version answers every item wrongly
        add_predictions(
            store,
            vid,
            "ethics",
            data,
            lambda it, w=wrong: (
                next(x for x in it.item.labels if x != it.item.label) if w else it.item.label
            ),
        )
    preds = load_predictions(store)
    labels = [m.label for m in preds.members]
    assert labels.count("anyprec-w4") == 1
    member = next(m for m in preds.members if m.label == "anyprec-w4")
    assert member.key == "anyprec-w4-v2"
    assert preds.replaced == {"anyprec-w4": ["anyprec-w4-v1"]}
