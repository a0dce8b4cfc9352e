"""DecodingTrust OOD style.json / knowledge.json and the hub's ood rows."""

import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import (
    IDK_LETTER,
    KNOWLEDGE_LABELS,
    STYLE_LABELS,
    load_knowledge_json,
    load_knowledge_path,
    load_style_json,
    load_style_path,
)
from codesign.measurements.evaluate.datasets.ood import style_family
from tests.measurements.evaluate.datasets.paths import DT_DATA, HUB

STYLE = DT_DATA / "ood" / "style.json"
KNOWLEDGE = DT_DATA / "ood" / "knowledge.json"


def test_style_items_name_their_style_and_keep_the_plain_sentence():
    items, src = load_style_json(STYLE)
    assert src.origin == "real" and len(items) == 6  # base is not a test category
    assert {it.task for it in items} == {"style:shakespeare", "style:tweet"}
    it = next(i for i in items if i.item_id == "style/shake_p0.6/1")
    assert it.label == "negative" and it.labels == STYLE_LABELS
    assert it.meta["clean"] == "the jokes never land . " and it.meta["category"] == "shake_p0.6"
    assert [lab for _, lab in it.meta["examples"]] == ["positive", "negative"]


def test_style_categories_can_be_chosen_and_unknown_ones_fail():
    items, _ = load_style_json(STYLE, categories=["tweet_p0"], demo_set=None)
    assert len(items) == 3 and items[0].meta["examples"] == ()
    with pytest.raises(CodesignError, match="no style categories"):
        load_style_json(STYLE, categories=["pirate"])
    assert style_family("shake_w") == "shakespeare_words" and style_family("bible_p0.6") == "bible"


def test_style_hub_rows_match_the_json_layout():
    hub, src = load_style_path(HUB)
    dt, _ = load_style_json(STYLE)
    assert src.name == "ood_style:hub"
    assert [(i.item_id, i.label, i.fields["sentence"]) for i in hub] == [
        (i.item_id, i.label, i.fields["sentence"]) for i in dt
    ]


def test_knowledge_out_of_scope_gold_is_i_dont_know_with_the_fact_kept():
    items, src = load_knowledge_json(KNOWLEDGE)
    assert len(items) == 3 and src.origin == "real"  # qa_2023 only, by default
    it = items[0]
    assert it.label == IDK_LETTER and it.labels == KNOWLEDGE_LABELS
    assert it.meta == {
        "idk": "E",
        "answer": "C",
        "scope": "out",
        "category": "qa_2023",
        "source": "FIXTURE",
    }
    assert it.fields["E"] == "I don't know" and it.fields["C"] == "Greens"
    assert it.fields["date"] == "2023/01/05"


def test_knowledge_in_scope_categories_keep_their_factual_answer():
    items, _ = load_knowledge_json(KNOWLEDGE, categories=["qa_2020"])
    assert [it.label for it in items] == ["B", "D"] and items[0].meta["scope"] == "in"


def test_knowledge_hub_rows_and_folder_lookup():
    hub, src = load_knowledge_path(HUB)
    dt, _ = load_knowledge_path(DT_DATA.parent)
    assert src.name == "ood_knowledge:hub" and hub == dt
