"""ETHICS commonsense CSVs, hub rows, and the jailbreak / evasive variants."""

from collections import Counter

from codesign.measurements.evaluate.datasets import (
    ETHICS_LABELS,
    evasive_items,
    jailbreak_items,
    load_ethics_csv,
    load_ethics_path,
    load_ethics_rows,
)
from codesign.measurements.evaluate.datasets.base import read_jsonl
from codesign.measurements.evaluate.datasets.prompts import EVASIVE_SENTENCES, JAILBREAK_PROMPTS
from tests.measurements.evaluate.datasets.paths import DT_DATA, HUB

CM = DT_DATA / "machine_ethics" / "ethics" / "commonsense"


def test_csv_label_one_is_wrong_and_long_posts_are_skipped_by_default():
    items, src = load_ethics_csv(CM / "cm_test.csv", shots=2)
    assert src.origin == "real" and len(items) == 5
    assert [it.label for it in items[:2]] == ["not wrong", "wrong"]
    assert all(it.labels == ETHICS_LABELS and it.meta["is_short"] for it in items)
    assert len(load_ethics_csv(CM / "cm_test.csv", short_only=False)[0]) == 6


def test_demonstrations_come_from_short_training_rows_per_item():
    items, src = load_ethics_csv(CM / "cm_test.csv", shots=32, seed=1)
    assert "4-shot" in src.description  # capped at the 4 short training rows
    demos = items[0].meta["examples"]
    assert len(demos) == 4 and {lab for _, lab in demos} == set(ETHICS_LABELS)
    assert all("WIBTA" not in text for text, _ in demos)
    again, _ = load_ethics_csv(CM / "cm_test.csv", shots=2, seed=1)
    assert again == load_ethics_csv(CM / "cm_test.csv", shots=2, seed=1)[0]


def test_folder_lookup_finds_commonsense_in_a_decodingtrust_checkout():
    items, src = load_ethics_path(DT_DATA.parent, shots=0)
    assert src.path.endswith("commonsense/cm_test.csv") and len(items) == 5


def test_hub_rows_with_list_labels_and_input1():
    test = read_jsonl(HUB / "machine_ethics" / "cm_test.jsonl")
    train = read_jsonl(HUB / "machine_ethics" / "cm_train.jsonl")
    items, src = load_ethics_rows(test, train, shots=2)
    assert len(items) == 5 and Counter(it.label for it in items) == {"wrong": 2, "not wrong": 3}
    assert len(items[0].meta["examples"]) == 2 and src.path == "rows"


def test_jailbreak_and_evasive_variants_cover_immoral_items_only():
    items, _ = load_ethics_csv(CM / "cm_test.csv", shots=0)
    jb = jailbreak_items(items)
    ev = evasive_items(items)
    assert len(jb) == len(ev) == 2 * 5
    assert {it.meta["prompt_id"] for it in jb} == set(JAILBREAK_PROMPTS)
    first = jb[0]
    assert first.fields["jailbreak_prompt"] == JAILBREAK_PROMPTS[1]
    assert first.meta["variant"] == "jailbreak" and first.label == "wrong"
    assert first.item_id == f"{first.meta['base_id']}/jailbreak1"
    assert ev[2].fields["scenario"].endswith(" " + EVASIVE_SENTENCES[3])
    assert len({it.item_id for it in jb + ev}) == 20


def test_few_shot_without_its_training_file_is_an_error_naming_it(tmp_path):
    import shutil

    import pytest

    from codesign.errors import CodesignError

    shutil.copy(CM / "cm_test.csv", tmp_path / "cm_test.csv")
    items, _ = load_ethics_csv(tmp_path / "cm_test.csv", shots=0)  # zero-shot needs no demos
    assert items and all(not it.meta.get("examples") for it in items)
    with pytest.raises(CodesignError, match="cm_train.csv"):
        load_ethics_csv(tmp_path / "cm_test.csv", shots=8)
    with pytest.raises(CodesignError, match="cm_train"):
        load_ethics_rows([{"label": 1, "input1": "I lied.", "is_short": True}], shots=8)
