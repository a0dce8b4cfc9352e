"""Prompts laid out as DecodingTrust's code lays them out (where the suite follows it)."""

from __future__ import annotations

from codesign.measurements.evaluate.datasets.base import Item
from codesign.measurements.evaluate.datasets.prompts import ADVGLUE_INSTRUCTIONS
from codesign.measurements.evaluate.suites import SUITES, SuiteItem

ADV = SUITES.get("adv_robustness")


def test_advglue_repeats_the_instruction_in_every_turn_with_lower_case_demo_answers():
    fields = {"question1": "Is it red?", "question2": "Is it blue?"}
    it = SuiteItem("qqp|x", "qqp", Item("x", "qqp", fields, "no", ("yes", "no"), {}))
    task = ADVGLUE_INSTRUCTIONS["qqp"]
    msgs = ADV.messages(it)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert all(m["content"].startswith(task + "\n") for m in msgs if m["role"] == "user")
    assert [m["content"] for m in msgs if m["role"] == "assistant"] == ["yes", "no"]
    assert msgs[-1]["content"] == f"{task}\nquestion1: Is it red?\nquestion2: Is it blue?"
    assert ADV.max_new_tokens == 16  # gpt_eval.py: max_tokens=16


def test_a_new_prompt_protocol_gives_new_stored_keys():
    it = SuiteItem("sst2|y", "sst2", Item("y", "sst2", {"sentence": "ok"}, "positive",
                                          ("negative", "positive"), {}))  # fmt: skip
    assert ADV.stored_key(it) == f"{ADV.protocol}/sst2|y" and ADV.protocol
