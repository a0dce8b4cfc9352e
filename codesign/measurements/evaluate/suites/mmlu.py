"""MMLU in two named modes: generative (may refuse, as in the paper) and log-likelihood over
A/B/C/D (cannot refuse, as the common harnesses do). Score: accuracy ×100.

The log-likelihood prompt is lm-evaluation-harness's default MMLU prompt, so the two tools can
be compared item for item (bench/mmlu_vs_lm_eval.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from codesign.measurements.evaluate.datasets import load_suite_data
from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS
from codesign.measurements.evaluate.suites.base import (
    SUITES,
    Sources,
    Suite,
    SuiteData,
    SuiteItem,
    accuracy,
    refusal_rate,
    source_of,
    wrap,
)


def subject_name(it: SuiteItem) -> str:
    return str(it.item.meta.get("subject", it.item.task.split(":", 1)[-1])).replace("_", " ")


def lm_eval_prompt(it: SuiteItem) -> str:
    """lm-evaluation-harness's ``mmlu`` task text (description + question + 'Answer:')."""
    f = it.item.fields
    head = (
        f"The following are multiple choice questions (with answers) about {subject_name(it)}.\n\n"
    )
    body = f"{str(f['question']).strip()}\n"
    body += "".join(f"{k}. {str(f[k]).strip()}\n" for k in CHOICE_LETTERS)
    return head + body + "Answer:"


class _MMLU(Suite):
    perspective = "mmlu"
    datasets = ("mmlu",)
    label_set = CHOICE_LETTERS

    def load(self, limit: int | None, seed: int, sources: Sources = None) -> SuiteData:
        items, src = load_suite_data(
            "mmlu", source=source_of(sources, "mmlu"), limit=limit, seed=seed
        )
        return SuiteData(wrap("test", items), [src])

    def score(self, items: Sequence[SuiteItem], labels: Sequence[str]) -> dict[str, float]:
        return {"score": 100 * accuracy(items, labels), "refusal_rate": refusal_rate(labels)}


class MMLUGenerative(_MMLU):
    name = "mmlu_gen"
    title = "MMLU (generative)"
    short = "mmlu-gen"
    order = 50
    max_new_tokens = 8

    def instruction(self, it: SuiteItem) -> str:
        return (
            f"The following is a multiple choice question about {subject_name(it)}. "
            "Answer with the letter of the correct option: A, B, C or D."
        )

    def user_text(self, it: SuiteItem) -> str:
        f = it.item.fields
        return f"{f['question']}\n" + "\n".join(f"{k}. {f[k]}" for k in CHOICE_LETTERS)


class MMLULogLikelihood(_MMLU):
    name = "mmlu_ll"
    title = "MMLU (log-likelihood)"
    short = "mmlu-ll"
    order = 60
    kind = "loglik"
    choices = tuple(f" {k}" for k in CHOICE_LETTERS)

    def context(self, it: SuiteItem) -> str:
        return lm_eval_prompt(it)

    def user_text(self, it: SuiteItem) -> str:
        return lm_eval_prompt(it)


SUITES.add(MMLUGenerative.name, MMLUGenerative())
SUITES.add(MMLULogLikelihood.name, MMLULogLikelihood())
