"""Prompt templates: which one a model gets, what each sends, and that two templates' outputs
are never scored together."""

from __future__ import annotations

import os
import subprocess

import pandas as pd
import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.runner import render_prompts
from codesign.measurements.evaluate.suites import SUITES
from codesign.measurements.evaluate.templates import TEMPLATES, choose_template
from codesign.scoring.stored import current_protocol, load_predictions
from codesign.store import Store
from tests.measurements.evaluate.test_comptrust_fixtures import FIXTURES
from tests.measurements.evaluate.test_runner import _cmd
from tests.processes import scoring_output


@pytest.mark.parametrize(
    ("model", "label"),
    [
        ("meta-llama/Llama-2-13b-chat-hf", "comptrust:llama-2"),
        ("TheBloke/Llama-2-13B-chat-GPTQ", "comptrust:llama-2"),
        ("meta-llama/Llama-2-13b-hf", "comptrust:redpajama-incite-instruct"),
        ("lmsys/vicuna-13b-v1.3", "comptrust:vicuna_v1.1"),
        ("smollm2-135m", "model"),
    ],
)
def test_the_default_template_is_the_forks_for_the_families_it_configures(model, label):
    assert choose_template(None, model).label(model) == label


def test_comptrust_named_for_a_family_the_fork_does_not_know_is_its_default_llama_2():
    assert choose_template("comptrust", "smollm2-135m").label("smollm2-135m") == "comptrust:llama-2"
    with pytest.raises(CodesignError, match="unknown prompt template 'fastchat'"):
        choose_template("fastchat", "smollm2-135m")


def _few_shot_item():
    data = SUITES.get("fairness").load(None, 0, {"adult": str(FIXTURES / "data" / "fairness")})
    return next(it for it in data.items if it.setting == "few_shot_16_fair_demon")


def test_fairness_few_shot_keeps_the_intended_layout_for_the_models_own_template():
    """The fork's layout (demonstrations as system messages, each replacing the one before
    under its templates) goes with --template comptrust; the model's own template is given
    the demonstrations as turns, so both exist."""
    it = _few_shot_item()
    plain = SUITES.get("fairness")
    assert plain.chat_messages(it) == plain.messages(it)
    roles = [m["role"] for m in plain.messages(it)]
    assert roles[:3] == ["system", "user", "assistant"] and roles.count("user") == 18
    fork = plain.with_template(TEMPLATES.get("comptrust"), "smollm2-135m")
    fork_roles = [m["role"] for m in fork.chat_messages(it)]
    assert fork_roles == ["system"] * 33 + ["user"]
    last_answer = it.item.meta["examples"][-1][1].capitalize()
    (prompt,) = render_prompts(None, fork, [it])
    assert prompt.text.startswith(last_answer + "description:") and prompt.special
    assert "predict whether the person" not in prompt.text.split("description:")[0]


def test_each_template_has_its_own_stored_keys_and_raw_text_suites_none():
    it = _few_shot_item()
    plain = SUITES.get("fairness")
    fork = plain.with_template(TEMPLATES.get("comptrust"), "meta-llama/Llama-2-7b-chat-hf")
    assert plain.stored_key(it) == f"{plain.protocol}/{it.key}"
    assert fork.stored_key(it) == f"{plain.protocol}@comptrust:llama-2/{it.key}"
    mmlu = SUITES.get("mmlu_gen")
    mmlu_fork = mmlu.with_template(TEMPLATES.get("comptrust"), "smollm2-135m")
    assert mmlu_fork.template_label() == "raw text"
    assert mmlu_fork.stored_key(it) == mmlu.stored_key(it)


def _frame(rows) -> pd.DataFrame:
    extras = [
        {"protocol": SUITES.get(s).protocol, **({"template": t} if t else {})} for _, s, t in rows
    ]
    return pd.DataFrame(
        {"row_id": [r[0] for r in rows], "suite": [r[1] for r in rows], "extra": extras}
    )


def test_only_the_latest_templates_outputs_are_current():
    """Two templates' answers to the same items are never both scored: the template of the
    suite's most recently stored output is; outputs without a template are the model's own."""
    rows = [
        (1, "ethics", None),
        (2, "ethics", "model"),
        (3, "ethics", "comptrust:llama-2"),
        (4, "ethics", "comptrust:llama-2"),
        (5, "mmlu_gen", None),
    ]
    assert current_protocol(_frame(rows)).tolist() == [False, False, True, True, True]
    # the model's template stored last: it is the current one again
    again = _frame([*rows, (6, "ethics", "model")])
    assert current_protocol(again).tolist() == [True, True, False, False, True, True]


def _evaluate(model, store_url, env, *extra):
    """test_runner's evaluate command on one item per setting (a later --limit wins)."""
    cmd = [*_cmd(model, store_url), "--limit", "1", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def test_evaluate_stores_the_template_and_prompt_and_scores_one_template(
    tiny_llama, store_url, tmp_path
):
    env = dict(os.environ, CODESIGN_CACHE=str(tmp_path / "cache"))
    first = _evaluate(tiny_llama, store_url, env, "--template", "comptrust")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "prompt template: ethics: comptrust:llama-2" in first.stdout
    frame = Store(store_url).predictions_frame("ethics")
    assert frame["extra"].map(lambda e: e["template"] == "comptrust:llama-2").all()
    zero = frame[frame["extra"].map(lambda e: e["setting"] == "zero")]
    assert (
        zero["extra"]
        .map(lambda e: e["prompt"])
        .str.startswith("You are a helpful assistant.Please answer with 'wrong' or 'not wrong'.\n")
        .all()
    )
    second = _evaluate(tiny_llama, store_url, env, "--template", "model")
    assert second.returncode == 0, second.stderr[-2000:]
    n = len(frame) // 2  # per variant
    assert "prompt template: ethics: model" in " ".join(second.stdout.split())
    out = scoring_output(store_url, env)
    assert f"ethics: {2 * n} stored outputs of another prompt protocol or template" in out
    scored = load_predictions(Store(store_url)).suites["ethics"]  # what every report prints
    assert scored.provenance.endswith("prompt template: model")
