"""codesign's prompts under ``--template comptrust`` equal, byte for byte, the prompts comp-trust's
DecodingTrust fork builds: fixtures made by running the fork's own prompt code on the first rows
of its data files (tests/fixtures/comptrust_prompts/README.md says how), rendered with its
llama-2 conversation template, for the first two items of every setting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codesign.measurements.evaluate.runner import render_prompts
from codesign.measurements.evaluate.suites import SUITES
from codesign.measurements.evaluate.templates import TEMPLATES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "comptrust_prompts"
LLAMA2 = "meta-llama/Llama-2-13b-chat-hf"


def _expected(suite: str) -> dict[str, list[str]]:
    found = json.loads((FIXTURES / "prompts" / f"{suite}.json").read_text(encoding="utf-8"))
    return {setting: [r["prompt"] for r in rows] for setting, rows in found.items()}


def _first_two(items) -> list:
    return sorted(items, key=lambda it: _index(it.item.item_id))[:2]


def _index(item_id: str) -> int:
    """The item's row in its data file (the number after its file's name in the id)."""
    base = item_id.split("/jailbreak")[0].split("/evasive")[0]
    return int(base.rsplit("/", 1)[1])


# A model of each family comp-trust's configs name, by the conversation template they give it.
FAMILY = {
    "llama-2": LLAMA2,
    "vicuna_v1.1": "lmsys/vicuna-13b-v1.3",
    "redpajama-incite-instruct": "meta-llama/Llama-2-13b-hf",
}


def _rendered(suite_name: str, items, model: str = LLAMA2) -> list[str]:
    suite = SUITES.get(suite_name).with_template(TEMPLATES.get("comptrust"), model)
    return [p.text for p in render_prompts(None, suite, items)]


FAIRNESS = _expected("fairness")


@pytest.mark.parametrize("setting", sorted(FAIRNESS))
def test_fairness_prompt_equals_the_forks(setting):
    data = SUITES.get("fairness").load(None, 0, {"adult": str(FIXTURES / "data" / "fairness")})
    items = _first_two([it for it in data.items if it.setting == setting])
    assert _rendered("fairness", items) == FAIRNESS[setting]


ETHICS = _expected("ethics")


def _ethics_items(setting: str):
    path = FIXTURES / "data" / "machine_ethics" / "ethics" / "commonsense" / "cm_test.csv"
    data = SUITES.get("ethics").load(None, 0, {"ethics": str(path)})
    kind, number = re.fullmatch(r"([a-z]+)(\d?)", setting).groups()
    chosen = [
        it
        for it in data.items
        if it.setting == kind and (not number or it.item.item_id.endswith(f"{kind}{number}"))
    ]
    return _first_two(chosen)


@pytest.mark.parametrize("key", sorted(ETHICS))
def test_ethics_prompt_equals_the_forks(key):
    """Every setting with llama-2; 0- and 32-shot also with the fork's other two templates."""
    setting, _, conversation = key.partition("@")
    model = FAMILY[conversation or "llama-2"]
    assert _rendered("ethics", _ethics_items(setting), model) == ETHICS[key]


OOD = _expected("ood")


def _ood_items(setting: str):
    folder = FIXTURES / "data" / "ood"
    sources = {
        "ood_style": str(folder / "style.json"),
        "ood_knowledge": str(folder / "knowledge.json"),
    }
    data = SUITES.get("ood").load(None, 0, sources)
    name, _, category = setting.partition("/")
    chosen = [
        it
        for it in data.items
        if it.setting == name and (not category or it.item.meta.get("category") == category)
    ]
    return _first_two(chosen)


@pytest.mark.parametrize("setting", sorted(OOD))
def test_ood_prompt_equals_the_forks(setting):
    assert _rendered("ood", _ood_items(setting)) == OOD[setting]


MMLU = _expected("mmlu_gen")


@pytest.mark.parametrize("subject", sorted(MMLU))
def test_mmlu_prompt_equals_comptrusts(subject):
    """Its first two test questions, and those whose options pandas reads otherwise ("None"
    sent as "nan") or that carry trailing spaces, as comp-trust's script formats them."""
    data = SUITES.get("mmlu_gen").load(None, 0, {"mmlu": str(FIXTURES / "data" / "mmlu")})
    rows = json.loads((FIXTURES / "prompts" / "mmlu_gen.json").read_text(encoding="utf-8"))
    by_id = {it.item.item_id: it for it in data.items}
    items = [by_id[f"mmlu/{subject}/{r['row']}"] for r in rows[subject]]
    assert _rendered("mmlu_gen", items) == MMLU[subject]
    odd = re.compile(r"\n[A-D]\. nan\n|\n[A-D]\. [^\n]* \n")  # the cases the fixture holds
    assert any(odd.search(p) for p in MMLU[subject])


ADV = _expected("adv_robustness")


@pytest.mark.parametrize("task", sorted(ADV))
def test_advglue_prompt_equals_the_forks(task):
    """No system message in comp-trust's AdvGLUE++ config, so the llama-2 template keeps its
    own system prompt and [INST] wrapper here (the rows are codesign's stand-in file: the
    published AdvGLUE++ files are not on any registry)."""
    path = FIXTURES / "data" / "adv-glue-plus-plus" / "data" / "alpaca.json"
    data = SUITES.get("adv_robustness").load(None, 0, {"advglue": str(path)})
    items = _first_two([it for it in data.items if it.setting == task])
    rendered = _rendered("adv_robustness", items)
    assert rendered == ADV[task]
    assert rendered[0].startswith("<s>[INST] <<SYS>>\nYou are a helpful, respectful")
