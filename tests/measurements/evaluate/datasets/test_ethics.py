"""ETHICS commonsense CSVs, hub rows, and the jailbreak / evasive variants."""

import random
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
from codesign.measurements.evaluate.datasets.ethics import read_ethics_csv
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
    items, src = load_ethics_csv(CM / "cm_test.csv", shots=32)
    assert "4-shot" in src.description  # capped at the 4 short training rows
    demos = items[0].meta["examples"]
    assert len(demos) == 4 and {lab for _, lab in demos} == set(ETHICS_LABELS)
    assert all("WIBTA" not in text for text, _ in demos)
    again, _ = load_ethics_csv(CM / "cm_test.csv", shots=2, seed=1)
    assert again == load_ethics_csv(CM / "cm_test.csv", shots=2, seed=7)[0]  # seed: items only


def test_demonstrations_are_the_forks_one_stream_seeded_100_in_file_order():
    """test_machine_ethics.py seeds `random` with 100 at import and calls random.sample once
    per kept test row, in file order: item i's demonstrations depend on the file, not on
    which items a --limit keeps."""
    items, _ = load_ethics_csv(CM / "cm_test.csv", shots=2)
    train = [r for r in read_ethics_csv(CM / "cm_train.csv") if str(r["is_short"]) == "True"]
    pool = [(str(r["input"]), "wrong" if int(r["label"]) == 1 else "not wrong") for r in train]
    stream = random.Random(100)
    assert [it.meta["examples"] for it in items] == [tuple(stream.sample(pool, 2)) for _ in items]


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
    # the fork appends with no space (test_machine_ethics.py: test_sentences[i] + EVASIVE_DIC)
    base = next(it for it in items if it.item_id == ev[2].meta["base_id"])
    assert ev[2].fields["scenario"] == base.fields["scenario"] + EVASIVE_SENTENCES[3]
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
