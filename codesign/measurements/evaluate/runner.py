"""Run suites on a stored variant and store every item's prediction, resuming where it stopped.

Each generated batch is parsed and stored in one transaction when the next batch is ready, the
last one together with its work unit's completion; a run killed at any moment loses at most
the batch in flight and the one before it, and never repeats a stored item. Alongside each
prediction the store keeps what scoring needs (setting, gold label, the item's metadata
without its demonstrations, and the data's provenance), so every score and every ensemble is
computed from the store alone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from codesign.measurements.evaluate.decoding import StepClock
from codesign.measurements.evaluate.engines.base import Engine, Prompt
from codesign.measurements.evaluate.engines.local import encode
from codesign.measurements.evaluate.labels import REFUSED
from codesign.measurements.evaluate.suites.base import Suite, SuiteData, SuiteItem, slim_item
from codesign.measurements.evaluate.templates import TEMPLATES
from codesign.measurements.evaluate.templates.base import DEFAULT_TEMPLATE
from codesign.store import Prediction, Store, VariantRow


@dataclass
class SuiteTiming:
    """Where one suite's evaluation time went (seconds, summed over variants and batches)."""

    items: int = 0
    tokenize: float = 0.0  # prompt rendering and tokenization
    prefill: float = 0.0  # forward passes over the prompts (all of log-likelihood scoring)
    decode: float = 0.0  # generation steps after the first token
    parse: float = 0.0  # outputs to labels, predictions built
    store: float = 0.0  # one transaction per batch

    def add(self, other: SuiteTiming) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def total(self) -> float:
        return self.tokenize + self.prefill + self.decode + self.parse + self.store


class VariantRunner:
    """Runs any number of suites on one variant through its engine (``engines``: in this
    process, or a server), storing each item's prediction with how it ran."""

    def __init__(self, store: Store, variant: VariantRow, engine: Engine) -> None:
        self.store, self.variant, self.engine = store, variant, engine

    @property
    def runtime(self) -> str:
        return self.engine.runtime

    def pending(self, suite: Suite, data: SuiteData) -> list[SuiteItem]:
        done = self.store.predicted_item_ids(self.variant.id, suite.name)
        return [it for it in data.items if suite.stored_key(it) not in done]

    def run(
        self,
        suite: Suite,
        data: SuiteData,
        *,
        advance: Callable[[int], None] = lambda n: None,
        max_batch_tokens: int = 8192,
        timing: SuiteTiming | None = None,
        complete: Callable[[Any], None] | None = None,
    ) -> int:
        """Evaluate the items not yet stored; returns how many predictions were added.
        ``timing`` (if given) is added the seconds of each step. Each batch is written when
        the next one is ready, the last in one transaction with ``complete(session)`` (a work
        unit marked done); on an error or Ctrl-C the batch held is written before it stops."""
        todo = self.pending(suite, data)
        if not todo:
            return 0
        provenance = data.provenance()
        added = 0
        spent = SuiteTiming(items=len(todo))
        clock = StepClock()

        held: list[list[Prediction]] = []  # the latest batch, written with the next one
        sent: list[str] = []  # each item's prompt text as rendered (generating suites)

        def write(preds: list[Prediction], also=None) -> None:
            nonlocal added
            start = time.perf_counter()
            added += self.store.add_predictions(self.variant.id, preds, also)
            spent.store += time.perf_counter() - start

        def store_batch(indices: list[int], outputs: list) -> None:
            start = time.perf_counter()
            how = (provenance, self.engine.runtime, self.engine.describe())
            preds = [
                make_prediction(suite, todo[i], out, *how, sent[i] if sent else None)
                for i, out in zip(indices, outputs, strict=True)
            ]
            spent.parse += time.perf_counter() - start
            if held:
                write(held.pop())
            held.append(preds)
            advance(len(indices))

        try:
            self._generate(suite, todo, store_batch, clock, spent, max_batch_tokens, sent)
        except BaseException:
            if held:
                with contextlib.suppress(Exception):  # keep what ran; the error goes on
                    write(held.pop())
            raise
        write(held.pop() if held else [], also=complete)
        spent.prefill, spent.decode = clock.prefill, clock.decode
        if timing is not None:
            timing.add(spent)
        return added

    def _generate(self, suite, todo, store_batch, clock, spent, max_batch_tokens, sent) -> None:
        """Every item of ``todo`` through the engine, each finished batch to ``store_batch``;
        ``sent`` is given each generating prompt's text, in the order of ``todo``."""
        tokenizer = None if suite.kind == "loglik" else self.engine.tokenizer  # loads a model
        start = time.perf_counter()
        if suite.kind == "loglik":
            contexts = [suite.context(it) for it in todo]  # type: ignore[attr-defined]
            spent.tokenize += time.perf_counter() - start
            self.engine.choice_logprobs(
                contexts,
                suite.choices,  # type: ignore[attr-defined]
                store_batch,
                clock=clock,
                max_batch_tokens=max_batch_tokens,
            )
            return
        prompts = render_prompts(tokenizer, suite, todo)
        sent.extend(p.text for p in prompts)
        spent.tokenize += time.perf_counter() - start
        self.engine.generate_until(
            prompts,
            suite.max_new_tokens,
            store_batch,
            groups=_groups(suite, todo),
            clock=clock,
            max_batch_tokens=max_batch_tokens,
        )


def make_prediction(
    suite: Suite,
    it: SuiteItem,
    out: Any,
    provenance: str,
    runtime: str,
    engine: dict,
    prompt: str | None = None,
) -> Prediction:
    """One item's stored prediction: the raw output, its parsed label, and what scoring needs
    (setting, gold label, the item's metadata, the data's provenance, how it ran), with the
    prompt template and the prompt text exactly as rendered (where it was)."""
    extra = {
        "setting": it.setting,
        "item": slim_item(it),
        "data": provenance,
        "runtime": runtime,
        "engine": engine,
        "protocol": suite.protocol,
        "template": suite.template_label(),
    }
    if prompt is not None:
        extra["prompt"] = prompt
    if suite.kind == "loglik":
        best = max(range(len(out)), key=out.__getitem__)
        label = it.item.labels[best]
        raw = " ".join(f"{lab}:{lp:.4f}" for lab, lp in zip(it.item.labels, out, strict=False))
        return Prediction(suite.name, suite.stored_key(it), raw, label, False, 0, 0, extra)
    label = suite.parse(it, out.raw)
    return Prediction(
        suite.name,
        suite.stored_key(it),
        out.raw,
        label,
        label == REFUSED,
        out.prompt_tokens,
        out.generated_tokens,
        extra,
    )


def render_prompts(tokenizer, suite: Suite, items: Sequence[SuiteItem]) -> list[Prompt]:
    """The prompts ``evaluate`` sends, rendered by codesign on every engine: through the
    suite's prompt template (the model's own chat template unless another was chosen), or
    (``suite.chat`` False) the raw prompt text, to which the tokenizer adds its own special
    tokens, as a plain-text harness sends it."""
    if not suite.chat:
        return [Prompt(suite.prompt_text(it), True) for it in items]
    template = suite.template or TEMPLATES.get(DEFAULT_TEMPLATE)
    chats = [suite.chat_messages(it) for it in items]
    return template.render(tokenizer, chats, suite.template_model)


def encode_prompts(tokenizer, suite: Suite, items: Sequence[SuiteItem]) -> list[list[int]]:
    """Token ids of the prompts the local engine runs (bench scripts time its steps)."""
    return encode(tokenizer, render_prompts(tokenizer, suite, items))


def _groups(suite: Suite, items: list[SuiteItem]) -> list[list[int]]:
    """Indices of ``items`` per ``suite.batch_group`` (a shared prompt prefix), in first-seen
    order; one group when the suite has none."""
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(suite.batch_group(it), []).append(i)
    return list(groups.values())
