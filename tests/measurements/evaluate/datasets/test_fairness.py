"""DecodingTrust's published fairness prompt files (jsonl + .npy) and the hub rows."""

import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import (
    base_rate_parity,
    load_fairness_jsonl,
    load_fairness_path,
    load_fairness_rows,
)
from codesign.measurements.evaluate.datasets.base import read_jsonl
from codesign.measurements.evaluate.datasets.fairness import dt_file_names
from tests.measurements.evaluate.datasets.paths import ADULT, DT_DATA, HUB

FAIR = DT_DATA / "fairness" / "fairness_data"


def test_jsonl_with_npy_sidecars_gives_labels_and_sex():
    items, src = load_fairness_jsonl(FAIR / "adult_0_200_test_base_rate_0.5.jsonl")
    assert src.origin == "real" and len(items) == 8
    assert base_rate_parity(items) == pytest.approx(0.5)
    assert items[0].labels == ("yes", "no") and items[0].meta["examples"] == ()
    assert items[0].fields["description"].startswith("A person in 1996")


def test_few_shot_file_keeps_its_demonstrations():
    items, _ = load_fairness_jsonl(FAIR / "adult_32_200_train_br_0.0_test_br_0.5.jsonl")
    assert len(items) == 4 and [lab for _, lab in items[0].meta["examples"]] == ["no", "yes"]


def test_path_loader_picks_the_file_for_a_setting():
    items, src = load_fairness_path(DT_DATA.parent, base_rate_parity=0.5, shots=0)
    assert src.name == "fairness:adult_0_200_test_base_rate_0.5" and len(items) == 8
    few, _ = load_fairness_path(DT_DATA, base_rate_parity=0.5, shots=32)
    assert len(few) == 4
    with pytest.raises(CodesignError, match="no DecodingTrust fairness file"):
        load_fairness_path(DT_DATA, base_rate_parity=1.0, shots=16)
    assert "adult_32_200_train_base_rate_0.5.jsonl" in dt_file_names(32, 0.0, 0.5)


def test_path_loader_samples_a_folder_of_uci_files():
    items, src = load_fairness_path(ADULT, base_rate_parity=1.0, n=8, seed=1)
    assert base_rate_parity(items) == 1.0 and src.name.startswith("adult:br1")


def test_hub_rows_read_the_sex_from_the_description():
    rows = read_jsonl(HUB / "fairness" / "fairness_data" / "adult_0_200_test_base_rate_0.5.jsonl")
    items, src = load_fairness_rows(rows)
    assert src.path == "rows" and base_rate_parity(items) == pytest.approx(0.5)
    with pytest.raises(CodesignError, match="no 'sex"):
        load_fairness_rows([{"input": "description: someone", "label": "yes"}])
