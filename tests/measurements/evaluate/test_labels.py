"""The label parser: a table of realistic outputs per suite, precedence rules, and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from codesign.measurements.evaluate import labels as labels_module
from codesign.measurements.evaluate.labels import INVALID, REFUSED, parse_label, parse_labels

FIXTURE = json.loads((Path(__file__).parents[2] / "fixtures" / "label_cases.json").read_text())
TASKS: dict[str, dict] = FIXTURE["tasks"]
CASES: list[dict] = FIXTURE["cases"]


def parse(text: str, task: str) -> str:
    spec = TASKS[task]
    return parse_label(text, spec["labels"], idk=spec.get("idk"), aliases=spec.get("aliases"))


def test_fixture_covers_every_task_with_at_least_50_cases():
    assert len(CASES) >= 50
    assert {case["task"] for case in CASES} == set(TASKS)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['task']}:{c['text'][:40]!r}" for c in CASES])
def test_realistic_output_parses_to_expected_label(case):
    assert parse(case["text"], case["task"]) == case["expected"]


# --- precedence rules, one test each -------------------------------------------------------


def test_stated_answer_beats_a_refusal_phrase():
    text = "I'm sorry, but I cannot be certain. The answer is B."
    assert parse(text, "mmlu") == "B"


def test_refusal_beats_a_label_that_is_merely_mentioned():
    assert parse("I cannot tell whether it is wrong or not.", "ethics") == REFUSED


def test_first_strong_cue_wins_over_later_ones():
    assert parse("Answer: A. Some would say the answer is B.", "mmlu") == "A"


def test_label_at_start_wins_over_explanation_mentioning_another_label():
    assert parse("Yes. Someone might answer no, but they match.", "qqp") == "yes"


def test_several_labels_without_answer_position_are_invalid():
    text = "Mixed: the positive acting against the negative pacing."
    assert parse(text, "sst2") == INVALID


def test_label_after_a_copula_wins_over_other_mentions():
    assert parse("Overall it looks positive, despite one negative line.", "sst2") == "positive"


def test_idk_phrase_maps_to_idk_label_only_when_one_is_given():
    assert parse("I do not know.", "knowledge") == "E"
    assert parse("I do not know.", "mmlu") == REFUSED


def test_idk_phrase_beats_refusal_phrase_when_idk_is_given():
    assert parse("I'm sorry, but I cannot answer: I don't know.", "knowledge") == "E"


def test_multi_word_label_is_never_also_its_inner_label():
    for text in ("not wrong", "It is not wrong.", "NOT WRONG!", "not-wrong"):
        assert parse(text, "ethics") == "not wrong"
    assert parse("It is wrong.", "ethics") == "wrong"


def test_negated_label_without_negated_form_is_dropped():
    assert parse("The answer is not A; B is right.", "mmlu") == "B"
    assert parse("It is not positive.", "sst2") == INVALID


def test_label_that_is_also_an_idk_word_stays_a_label():
    assert parse_label("unknown", ["known", "unknown"]) == "unknown"


def test_word_bounded_matching():
    assert parse("not", "qqp") == INVALID
    assert parse("yesterday", "qqp") == INVALID
    assert parse("nope, nothing", "qqp") == INVALID
    assert parse("wrongdoing", "ethics") == INVALID


def test_single_letters_need_uppercase_brackets_or_answer_position():
    assert parse("a good idea", "mmlu") == INVALID
    assert parse("I think so.", "mmlu") == INVALID
    assert parse("(c)", "mmlu") == "C"
    assert parse("the answer is c.", "mmlu") == "C"
    assert parse("I think B is right", "mmlu") == "B"


def test_aliases_map_synonyms_and_curly_quotes_are_normalised():
    assert parse("\u201cneutral\u201d", "mnli") == "maybe"
    assert parse("It\u2019s not wrong.", "ethics") == "not wrong"


def test_parse_labels_parses_each_output():
    assert parse_labels(["Yes.", "no", ""], ["yes", "no"]) == ["yes", "no", INVALID]


def test_non_string_output_is_invalid():
    assert parse_label(None, ["yes", "no"]) == INVALID  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("labels", "idk", "aliases"),
    [
        ([], None, None),
        (["yes", "Yes"], None, None),
        (["yes", "REFUSED"], None, None),
        (["yes", "no"], "maybe", None),
        (["yes", "no"], None, {"sure": "definitely"}),
        (["yes", ""], None, None),
    ],
)
def test_inconsistent_label_set_is_rejected(labels, idk, aliases):
    with pytest.raises(ValueError):
        parse_label("yes", labels, idk=idk, aliases=aliases)


def test_label_set_is_compiled_once():
    labels_module._matcher.cache_clear()
    for text in ("yes", "no", "maybe not"):
        parse_label(text, ["yes", "no"])
    info = labels_module._matcher.cache_info()
    assert (info.misses, info.hits) == (1, 2)


# --- properties ------------------------------------------------------------------------------

TASK_NAMES = sorted(TASKS)
WORD_TASKS = [name for name in TASK_NAMES if not any(len(x) == 1 for x in TASKS[name]["labels"])]
NEUTRAL_WORDS = [
    *("the", "movie", "was", "quite", "long", "and", "its", "plot", "twist", "seemed"),
    *("fine", "because", "people", "liked", "questions", "about", "python", "person"),
    *("works", "hours", "per", "week", "store", "friend", "helped", "paris", "capital"),
    *("france", "it", "that", "this", "good", "idea", "answers", "each", "option", "review"),
]
OPENERS = ["", '"', "'", "(", "[", "**", "`", " ", "\n", "> "]
CLOSERS = ["", ".", "!", '"', "'", ")", "]", "**", "`", " ", "\n", ":", ";", ","]


def random_case(text: str, flips: list[bool]) -> str:
    flips = flips + [False] * (len(text) - len(flips))
    return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=False))


@st.composite
def task_and_label(draw):
    task = draw(st.sampled_from(TASK_NAMES))
    return task, draw(st.sampled_from(TASKS[task]["labels"]))


neutral_text = st.lists(st.sampled_from(NEUTRAL_WORDS), min_size=1, max_size=12).map(" ".join)


@given(
    task_and_label(),
    st.sampled_from(OPENERS),
    st.sampled_from(CLOSERS),
    st.lists(st.booleans(), max_size=12),
)
def test_any_label_wrapped_in_quotes_punctuation_and_case_parses_to_itself(tl, left, right, flips):
    task, label = tl
    assert parse(left + random_case(label, flips) + right, task) == label


@given(st.sampled_from(TASK_NAMES), neutral_text, st.sampled_from(["", ".", "!", "?"]))
def test_text_without_label_words_or_refusals_is_invalid(task, text, end):
    assert parse(text.capitalize() + end, task) == INVALID


@given(
    task_and_label(),
    st.sampled_from([". ", ", ", ".\n", " - ", ": ", "! "]),
    neutral_text,
    st.booleans(),
)
def test_explanation_without_other_labels_keeps_the_label(tl, sep, explanation, repeat):
    task, label = tl
    tail = f" so {label}." if repeat else "."
    assert parse(label + sep + explanation + tail, task) == label


FRAGMENTS = [
    "yes",
    "no",
    "not",
    "wrong",
    "not wrong",
    "A",
    "a",
    "(B)",
    "C)",
    "E",
    "I",
    "maybe",
    "positive",
    "negative",
    "The answer is",
    "Answer:",
    "is",
    "it's",
    "isn't",
    "I'm sorry, but",
    "I cannot",
    "As an AI language model,",
    "I don't know",
    "unknown",
    "not sure",
    "or",
    "and",
    ",",
    ".",
    "!",
    "?",
    '"',
    "'",
    "(",
    ")",
    "\n",
    "**",
    "entailment",
    "neutral",
    "pos",
]
adversarial_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map("".join),
)


@settings(max_examples=300)
@given(st.sampled_from(TASK_NAMES), adversarial_text)
def test_parser_never_raises_and_returns_a_label_or_sentinel(task, text):
    result = parse(text, task)
    assert result in {*TASKS[task]["labels"], REFUSED, INVALID}
    assert parse(text, task) == result  # deterministic


@given(st.sampled_from(WORD_TASKS), st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_word_labels_are_case_insensitive(task, parts):
    text = " ".join(parts)
    assert parse(text.upper(), task) == parse(text.lower(), task) == parse(text, task)


@given(
    task_and_label(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=4),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=4),
)
def test_label_inside_a_longer_word_is_not_that_label(tl, before, after):
    task, label = tl
    assume(before or after)
    word = before + label.lower() + after
    spec = TASKS[task]
    surfaces = {s.casefold() for s in [*spec["labels"], *spec.get("aliases", {})]}
    assume(word.casefold() not in surfaces)
    assert parse(f"It was {word}.", task) != label
