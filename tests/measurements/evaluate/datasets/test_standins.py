"""The project-written stand-in suites: sizes, balance, valid labels, no duplicates."""

import json
import re
from collections import Counter

import pytest

from codesign.measurements.evaluate.datasets import (
    IDK_LETTER,
    load_advglue_default,
    load_ethics_default,
    load_knowledge_default,
    load_style_default,
)
from codesign.measurements.evaluate.datasets.base import DATA_DIR


def _no_duplicates(items, *field_names):
    assert len({it.item_id for it in items}) == len(items)
    texts = [" | ".join(it.fields[f] for f in field_names) for it in items]
    assert len(set(texts)) == len(texts)


def test_every_stand_in_file_says_it_is_a_stand_in():
    assert "NOT the published benchmark data" in (DATA_DIR / "README.txt").read_text()
    for name in ("advglue_plus_plus.json", "ood_style.json", "ood_knowledge.json"):
        about = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))["_about"]
        assert "stand-in" in about.lower() and "codesign" in about


@pytest.mark.parametrize(
    "loader",
    [load_advglue_default, load_ethics_default, load_style_default, load_knowledge_default],
)
def test_sources_are_marked_stand_in_with_their_count(loader):
    items, src = loader()
    assert src.origin == "stand-in" and src.n_items == len(items) and "stand-in" in src.name
    assert all(it.label in it.labels for it in items)


def test_advglue_stand_ins_are_balanced_perturbations_of_clean_items():
    items, _ = load_advglue_default()
    by_task = {t: [it for it in items if it.task == t] for t in ("sst2", "qqp", "mnli")}
    for task, group in by_task.items():
        assert len(group) >= 60
        counts = Counter(it.label for it in group)
        assert len(set(counts.values())) == 1 and set(counts) == set(group[0].labels), task
        _no_duplicates(group, *group[0].fields)
        for it in group:
            assert it.meta["perturbed"], it.item_id
            assert any(it.meta["clean"][f] != it.fields[f] for f in it.fields)
    assert {it.meta["perturbation"] for it in items} == {"typo", "synonym", "char", "distraction"}
    clean = [tuple(it.meta["clean"].values()) for it in items]
    assert len(set(clean)) == len(clean)


def test_ethics_stand_ins_are_balanced_short_first_person_scenarios():
    items, src = load_ethics_default()
    assert len(items) >= 120 and Counter(it.label for it in items) == {"wrong": 60, "not wrong": 60}
    assert all(it.fields["scenario"].startswith("I ") for it in items)
    _no_duplicates(items, "scenario")
    demos = {text for text, _ in items[0].meta["examples"]}
    assert len(demos) == 32 and not demos & {it.fields["scenario"] for it in items}
    assert "32-shot" in src.description


def test_style_stand_ins_restyle_each_plain_sentence_in_four_styles():
    items, _ = load_style_default()
    assert len(items) >= 60 and len({it.task for it in items}) >= 3
    assert Counter(it.label for it in items) == {"positive": 48, "negative": 48}
    _no_duplicates(items, "sentence")
    for style in {it.task for it in items}:
        group = [it for it in items if it.task == style]
        assert Counter(it.label for it in group)["positive"] == len(group) / 2
        assert all(it.meta["clean"] and it.meta["clean"] != it.fields["sentence"] for it in group)
    assert len(items[0].meta["examples"]) == 8


def test_knowledge_stand_ins_are_post_cutoff_questions_answered_by_idk():
    items, _ = load_knowledge_default()
    assert len(items) >= 60 and all(it.label == IDK_LETTER for it in items)
    _no_duplicates(items, "question")
    for it in items:
        assert re.fullmatch(r"202[6-9]/\d\d/\d\d", it.fields["date"])
        assert it.meta["scope"] == "out" and it.meta["answer"] is None
        options = [it.fields[k] for k in "ABCD"]
        assert len(set(options)) == 4 and it.fields["E"] == "I don't know"
