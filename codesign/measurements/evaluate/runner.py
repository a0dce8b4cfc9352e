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
from pathlib import Path
from typing import Any

from codesign.measurements.evaluate.generation import (
    StepClock,
    choice_logprobs,
    encode_chats,
    generate,
)
from codesign.measurements.evaluate.labels import REFUSED
from codesign.measurements.evaluate.suites.base import Suite, SuiteData, SuiteItem, slim_item
from codesign.measurements.quantize.backends import QUANTIZERS, LoadedModel
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
    """Loads a variant once (lazily) and runs any number of suites on it.

    On a CPU, unless ``real_kernels``, a quantized variant runs as float32 copies of the
    weights its kernels use (codesign.measurements.quantize.dequantize): same weights, the dense
    baseline's float32 arithmetic, 20-100x faster than the kernels' bfloat16 on a CPU
    without native 16-bit matrix units. Every prediction names the path in ``runtime``."""

    def __init__(
        self, store: Store, variant: VariantRow, device: str, *, real_kernels: bool = False
    ) -> None:
        self.store, self.variant, self.device = store, variant, device
        self.real_kernels = real_kernels
        self._loaded: LoadedModel | None = None
        self.runtime = ""

    @property
    def used(self) -> bool:
        """Whether this process has loaded the variant (it ran something on it)."""
        return self._loaded is not None

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            backend = QUANTIZERS.get(self.variant.backend)
            loaded = backend.load(Path(self.variant.path), self.device)
            self.runtime = f"{self.device} {loaded.dtype}: {loaded.kernel}"
            from codesign.measurements.quantize.dequantize import quantized_linears

            # float32 kernels too (a variant quantized in float32): they dequantize their
            # weights at every call, where a float32 copy is read once
            quantized = next(quantized_linears(loaded.model), None) is not None
            if (
                self.device == "cpu"
                and not self.real_kernels
                and (quantized or loaded.dtype != "float32")
            ):
                import torch

                from codesign.measurements.quantize.dequantize import to_float32_linears

                n = to_float32_linears(loaded.model, getattr(torch, loaded.dtype))
                self.runtime = (
                    f"cpu float32: {n} linear layers as exact float32 copies of the weights "
                    f"of {loaded.kernel} ({loaded.dtype})"
                )
                loaded = LoadedModel(loaded.model, loaded.tokenizer, self.runtime, False, "float32")
            self._loaded = loaded
        return self._loaded

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

        def write(preds: list[Prediction], also=None) -> None:
            nonlocal added
            start = time.perf_counter()
            added += self.store.add_predictions(self.variant.id, preds, also)
            spent.store += time.perf_counter() - start

        def store_batch(indices: list[int], outputs: list) -> None:
            start = time.perf_counter()
            preds = [
                self._prediction(suite, todo[i], out, provenance)
                for i, out in zip(indices, outputs, strict=True)
            ]
            spent.parse += time.perf_counter() - start
            if held:
                write(held.pop())
            held.append(preds)
            advance(len(indices))

        try:
            self._generate(suite, todo, store_batch, clock, spent, max_batch_tokens)
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

    def _generate(self, suite, todo, store_batch, clock, spent, max_batch_tokens) -> None:
        """Every item of ``todo`` through the model, each finished batch to ``store_batch``."""
        model, tok = self.loaded.model, self.loaded.tokenizer
        if suite.kind == "loglik":
            start = time.perf_counter()
            contexts = [suite.context(it) for it in todo]  # type: ignore[attr-defined]
            spent.tokenize += time.perf_counter() - start
            choice_logprobs(
                model,
                tok,
                contexts,
                suite.choices,  # type: ignore[attr-defined]
                device=self.device,
                max_batch_tokens=max_batch_tokens,
                on_batch=store_batch,
                clock=clock,
            )
        else:
            start = time.perf_counter()
            ids = encode_prompts(tok, suite, todo)
            spent.tokenize += time.perf_counter() - start
            generate(
                model,
                tok,
                ids,
                suite.max_new_tokens,
                device=self.device,
                max_batch_tokens=max_batch_tokens,
                on_batch=store_batch,
                clock=clock,
                groups=_groups(suite, todo),
            )

    def _prediction(self, suite: Suite, it: SuiteItem, out: Any, provenance: str) -> Prediction:
        extra = {
            "setting": it.setting,
            "item": slim_item(it),
            "data": provenance,
            "runtime": self.runtime,
            "protocol": suite.protocol,
        }
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


def encode_prompts(tokenizer, suite: Suite, items: Sequence[SuiteItem]) -> list[list[int]]:
    """Token ids of the prompts ``evaluate`` sends: through the chat template, or
    (``suite.chat`` False) the raw prompt text with the tokenizer's own special tokens, as a
    plain-text harness sends it."""
    if suite.chat:
        return encode_chats(tokenizer, [suite.messages(it) for it in items])
    return [tokenizer(suite.prompt_text(it))["input_ids"] for it in items]


def _groups(suite: Suite, items: list[SuiteItem]) -> list[list[int]]:
    """Indices of ``items`` per ``suite.batch_group`` (a shared prompt prefix), in first-seen
    order; one group when the suite has none."""
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(suite.batch_group(it), []).append(i)
    return list(groups.values())
