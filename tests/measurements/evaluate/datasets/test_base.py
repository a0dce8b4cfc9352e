"""The data model: frozen, hashable, picklable items; honest sources; seeded stratified limits."""

import json
import pickle
from collections import Counter

import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import DataSource, Item, stratified_sample
from codesign.measurements.evaluate.datasets.base import FrozenMap, limit_loaded


def _item(i: int, label: str = "yes", task: str = "qqp") -> Item:
    meta = {"examples": [["q", "yes"]], "nested": {"a": [1, 2]}}
    return Item(
        f"{task}/{i}", task, {"question1": "a", "question2": "b"}, label, ("yes", "no"), meta
    )


def test_item_fields_and_meta_are_read_only_and_lists_become_tuples():
    it = _item(0)
    with pytest.raises(TypeError):
        it.fields["question1"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        it.meta["nested"]["a"] = 3  # type: ignore[index]
    assert it.meta["examples"] == (("q", "yes"),)
    assert isinstance(it.meta, FrozenMap)


def test_item_is_hashable_equal_by_value_and_survives_pickle_and_json():
    a, b = _item(0), _item(0)
    assert a == b and hash(a) == hash(b) and len({a, b, _item(1)}) == 2
    assert pickle.loads(pickle.dumps(a)) == a
    assert json.loads(json.dumps(a.to_dict()))["meta"]["nested"] == {"a": [1, 2]}


def test_item_rejects_a_label_outside_its_label_set():
    with pytest.raises(ValueError, match="not in"):
        Item("x/0", "qqp", {"question1": "a"}, "maybe", ("yes", "no"))


def test_data_source_origin_must_be_real_or_stand_in():
    with pytest.raises(ValueError):
        DataSource("x", "synthetic", "p", "d", 0)
    assert "stand-in, 3 items" in DataSource("x", "stand-in", "p", "d", 3).summary()


def test_stratified_sample_keeps_label_shares_is_seeded_and_keeps_order():
    items = [_item(i, "yes" if i % 4 == 0 else "no") for i in range(100)]  # 25 yes / 75 no
    kept = stratified_sample(items, 20, seed=1)
    assert Counter(it.label for it in kept) == {"yes": 5, "no": 15}
    assert kept == stratified_sample(items, 20, seed=1)
    assert kept != stratified_sample(items, 20, seed=2)
    assert [items.index(it) for it in kept] == sorted(items.index(it) for it in kept)
    assert stratified_sample(items, None) == items and stratified_sample(items, 500) == items
    with pytest.raises(CodesignError):
        stratified_sample(items, -1)


def test_limit_loaded_updates_the_count_and_says_it_sampled():
    items = [_item(i, "yes" if i % 2 else "no") for i in range(10)]
    src = DataSource("x", "real", "p", "d", 10)
    kept, new = limit_loaded((items, src), 4, seed=0)
    assert len(kept) == new.n_items == 4 and "sample of 4/10 (seed 0)" in new.description
