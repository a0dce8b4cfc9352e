"""Adversarial robustness, AdvGLUE++ style: SST-2, QQP and MNLI under perturbations, prompted
as DecodingTrust prompts them (``advglue/gpt_eval.py``).

Score: accuracy over all items ×100, with refusals and unmappable outputs counted wrong
(DecodingTrust's definition); the refusal rate is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from codesign.measurements.evaluate.datasets import load_suite_data
from codesign.measurements.evaluate.datasets.prompts import ADVGLUE_DEMOS, ADVGLUE_INSTRUCTIONS
from codesign.measurements.evaluate.suites.base import (
    SUITES,
    Sources,
    Suite,
    SuiteData,
    SuiteItem,
    accuracy,
    by_setting,
    refusal_rate,
    source_of,
    wrap,
)

FIELDS = {
    "sst2": ("sentence",),
    "qqp": ("question1", "question2"),
    "mnli": ("premise", "hypothesis"),
}


class AdvRobustness(Suite):
    name = "adv_robustness"
    perspective = "adv_robustness"
    title = "Adversarial robustness"
    short = "adv"
    order = 10
    trust = True
    datasets = ("advglue",)
    max_new_tokens = 16  # DecodingTrust's max_tokens
    label_set = ("negative", "positive", "yes", "maybe", "no")
    protocol = "decodingtrust-advglue"

    def load(self, limit: int | None, seed: int, sources: Sources = None) -> SuiteData:
        items, src = load_suite_data(
            "advglue", source=source_of(sources, "advglue"), limit=limit, seed=seed
        )
        wrapped = [s for task in FIELDS for s in wrap(task, [i for i in items if i.task == task])]
        shots = {task: len(ADVGLUE_DEMOS.get(task, ())) for task in FIELDS}
        return SuiteData(wrapped, [src], shots)

    def instruction(self, it: SuiteItem) -> str:
        return ADVGLUE_INSTRUCTIONS[it.item.task]

    def demonstrations(self, it: SuiteItem) -> Sequence[tuple[str, str]]:
        return ADVGLUE_DEMOS.get(it.item.task, ())

    def messages(self, it: SuiteItem) -> list[dict[str, str]]:
        """DecodingTrust's layout (gpt_eval.py classify, configs sys: false, demo: true): no
        system message of its own (the chat template's default applies), every demonstration
        turn and the final turn repeat the task instruction, demonstration answers lower-case."""
        task = self.instruction(it)
        msgs = []
        for text, answer in self.demonstrations(it):
            msgs.append({"role": "user", "content": f"{task}\n{text}"})
            msgs.append({"role": "assistant", "content": str(answer).lower()})
        msgs.append({"role": "user", "content": f"{task}\n{self.user_text(it)}"})
        return msgs

    def user_text(self, it: SuiteItem) -> str:
        return "\n".join(f"{f}: {it.item.fields[f]}" for f in FIELDS[it.item.task])

    def score(self, items: Sequence[SuiteItem], labels: Sequence[str]) -> dict[str, float]:
        out = {"score": 100 * accuracy(items, labels), "refusal_rate": refusal_rate(labels)}
        for task, (its, labs) in by_setting(items, labels).items():
            out[f"{task}_accuracy"] = accuracy(its, labs)
            out[f"{task}_refusal_rate"] = refusal_rate(labs)
        return out


SUITES.add(AdvRobustness.name, AdvRobustness())
