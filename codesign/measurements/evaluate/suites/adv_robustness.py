"""Adversarial robustness, AdvGLUE++ style: SST-2, QQP and MNLI under perturbations, prompted
as DecodingTrust prompts them (``advglue/gpt_eval.py``).

Score: accuracy over all items ×100, with refusals and unmappable outputs counted wrong
(DecodingTrust's definition); the refusal rate is reported beside it.

Scoring: under the default profile (``comptrust``) this suite is parsed and scored by
``codesign.scoring.profiles.comptrust`` (``parse_advglue``, ``score_advglue``). The ``parse``
and ``score`` here are the ``strict`` profile's rule and the fallback of any profile that
declares none for this suite (``ScoringProfile.rule`` says which applies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import load_suite_data
from codesign.measurements.evaluate.datasets.base import limit_loaded
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

BASE_MODELS = ("alpaca", "vicuna", "stable-vicuna")  # the models AdvGLUE++ attacked (adv_stats.py)
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
        """comp-trust's rows: each base-model file (alpaca, vicuna, stable-vicuna) x task, each
        sampled to ``limit``; offline, the one stand-in file, and the files it lacks named."""
        source = source_of(sources, "advglue")
        files: dict[str, object] = {}
        missing: list[str] = []
        if isinstance(source, str | PathLike) and Path(source).is_dir():
            for model in BASE_MODELS:
                try:
                    files[model] = load_suite_data("advglue", source=source, model=model)
                except CodesignError:
                    missing.append(model)
            if not files:
                raise CodesignError(f"--data advglue: {source} holds no AdvGLUE++ base-model file")
        else:
            name = Path(source).stem if isinstance(source, str | PathLike) else "rows"
            files["stand-in" if source is None else name] = load_suite_data(
                "advglue", source=source
            )
            missing = list(BASE_MODELS) if source is None else []
        notes = [f"base-model files not run: {', '.join(missing)}"] if missing else []
        items, found, shots = [], [], {}
        for model, (loaded, src) in files.items():
            before = len(items)
            for task in FIELDS:
                picked, _ = limit_loaded(
                    ([it for it in loaded if it.task == task], src),
                    limit,
                    seed,
                    lambda it: it.label,
                )
                picked = [replace(it, meta={**it.meta, "model": model}) for it in picked]
                setting = task if len(files) == 1 else f"{model}:{task}"
                items += wrap(setting, picked)
                shots[setting] = len(ADVGLUE_DEMOS.get(task, ()))
            found.append(replace(src, n_items=len(items) - before))
        return SuiteData(items, found, shots, tuple(notes))

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
