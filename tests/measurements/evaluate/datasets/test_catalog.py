"""load_suite_data: offline defaults, published layouts by path, hub rows, seeded limits."""

from collections import Counter

import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import DATASETS, base_rate_parity, load_suite_data
from codesign.measurements.evaluate.datasets.base import read_jsonl
from tests.measurements.evaluate.datasets.paths import DT_DATA, HUB, MMLU

EXPECTED_ORIGIN = {
    "advglue": "stand-in",
    "adult": "real",
    "ethics": "stand-in",
    "ood_style": "stand-in",
    "ood_knowledge": "stand-in",
    "mmlu": "real",
}


def test_every_data_set_is_registered():
    assert set(DATASETS.names()) == set(EXPECTED_ORIGIN)


@pytest.mark.parametrize("name", sorted(EXPECTED_ORIGIN))
def test_offline_defaults_load_and_name_their_origin(name):
    items, src = load_suite_data(name, limit=40)
    assert src.origin == EXPECTED_ORIGIN[name] and src.n_items == len(items) == 40


@pytest.mark.parametrize(
    "name, source, count",
    [
        ("advglue", DT_DATA.parent, 8),
        ("adult", DT_DATA, 8),
        ("ethics", DT_DATA / "machine_ethics" / "ethics" / "commonsense" / "cm_test.csv", 5),
        ("ood_style", DT_DATA / "ood" / "style.json", 6),
        ("ood_knowledge", HUB, 3),
        ("mmlu", MMLU / "hendrycks", 4),
    ],
)
def test_a_path_selects_the_published_layout(name, source, count):
    items, src = load_suite_data(name, source=source)
    assert src.origin == "real" and len(items) == count


def test_rows_go_to_the_hub_loaders():
    rows = read_jsonl(HUB / "ood" / "knowledge.jsonl")
    items, src = load_suite_data("ood_knowledge", source=rows, categories=["qa_2020", "qa_2023"])
    assert len(items) == 5 and src.path == "rows"
    splits = {
        "cm_test": read_jsonl(HUB / "machine_ethics" / "cm_test.jsonl"),
        "cm_train": read_jsonl(HUB / "machine_ethics" / "cm_train.jsonl"),
    }
    items, _ = load_suite_data("ethics", source=splits, shots=1)
    assert len(items) == 5 and len(items[0].meta["examples"]) == 1


def test_limit_is_seeded_and_keeps_labels_balanced():
    a, src = load_suite_data("advglue", limit=30, seed=5)
    assert a == load_suite_data("advglue", limit=30, seed=5)[0]
    assert a != load_suite_data("advglue", limit=30, seed=6)[0]
    assert Counter(it.task for it in a) == {"sst2": 10, "qqp": 10, "mnli": 10}
    assert Counter(it.label for it in a if it.task == "sst2") == {"positive": 5, "negative": 5}
    assert "stratified sample of 30/180 (seed 5)" in src.description


def test_adult_limit_is_the_sample_size_and_options_set_the_setting():
    items, src = load_suite_data("adult", limit=48, seed=2, base_rate_parity=0.0, shots=4)
    assert len(items) == 48 and base_rate_parity(items) == 0.0
    assert len(items[0].meta["examples"]) == 4 and src.name == "adult:br0-n48-shots4-seed2"


def test_unknown_name_is_a_one_line_error():
    with pytest.raises(CodesignError, match="unknown data set 'truthfulqa'"):
        load_suite_data("truthfulqa")


def test_an_option_the_loader_does_not_take_is_a_one_line_error():
    with pytest.raises(CodesignError, match="data set 'mmlu'.*shots"):
        load_suite_data("mmlu", shots=5)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("mmlu", "a,b\n1,2\n", "not in the expected layout"),
        ("adult", b"\xe7\x00\xff" * 50, "not in the expected layout"),
        ("adult", "", "holds no items"),
        ("adult", '{"x": 1}\n', "not in the expected layout"),
        ("ood_style", "a,b\n", "not valid JSON"),
    ],
)
def test_a_file_in_the_wrong_layout_is_one_line_naming_it(tmp_path, name, content, expected):
    path = tmp_path / ("data.jsonl" if name == "adult" else "data.csv")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(CodesignError, match=expected) as info:
        load_suite_data(name, source=path, limit=2)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
