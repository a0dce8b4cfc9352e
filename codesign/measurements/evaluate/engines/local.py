"""``--engine local`` (the default): the variants run in this process on torch.

Batched greedy generation with shared-prefix KV caches and log-likelihood scoring
(``generation.py``), tuned for small models on a few CPU cores: the embedded default's engine.
On a CPU, unless ``--real-kernels``, a quantized variant runs as float32 copies of the weights
its kernels use (``quantize.dequantize``): same weights, the dense baseline's float32
arithmetic, 20-100x faster than the kernels' bfloat16 on a CPU without native 16-bit matrix
units. Every prediction names the path in ``runtime``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codesign.measurements.evaluate.decoding import StepClock
from codesign.measurements.evaluate.engines.base import (
    ENGINES,
    Engine,
    EngineKind,
    OnBatch,
    Prompt,
)


class LocalEngine(Engine):
    """One variant loaded here (lazily, once) and run by ``generation.py``."""

    engine = "local"

    def __init__(self, variant: Any, device: str, *, real_kernels: bool = False) -> None:
        self.variant, self.device, self.real_kernels = variant, device, real_kernels
        self._loaded = None

    @property
    def used(self) -> bool:
        """Whether this process has loaded the variant (it ran something on it)."""
        return self._loaded is not None

    @property
    def loaded(self):
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self):
        from codesign.measurements.quantize.backends import QUANTIZERS, LoadedModel
        from codesign.measurements.quantize.dequantize import quantized_linears

        loaded = QUANTIZERS.get(self.variant.backend).load(Path(self.variant.path), self.device)
        self.runtime = f"{self.device} {loaded.dtype}: {loaded.kernel}"
        # float32 kernels too (a variant quantized in float32): they dequantize their weights
        # at every call, where a float32 copy is read once
        quantized = next(quantized_linears(loaded.model), None) is not None
        exact = not quantized and loaded.dtype == "float32"
        if self.device != "cpu" or self.real_kernels or exact:
            return loaded
        import torch

        from codesign.measurements.quantize.dequantize import to_float32_linears

        n = to_float32_linears(loaded.model, getattr(torch, loaded.dtype))
        self.runtime = (
            f"cpu float32: {n} linear layers as exact float32 copies of the weights "
            f"of {loaded.kernel} ({loaded.dtype})"
        )
        return LoadedModel(loaded.model, loaded.tokenizer, self.runtime, False, "float32")

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    def generate_until(
        self,
        prompts: Sequence[Prompt],
        max_new_tokens: int,
        on_batch: OnBatch,
        *,
        groups: Sequence[Sequence[int]] | None = None,
        clock: StepClock | None = None,
        max_batch_tokens: int = 8192,
    ) -> None:
        from codesign.measurements.evaluate.generation import generate

        generate(
            self.loaded.model,
            self.tokenizer,
            encode(self.tokenizer, prompts),
            max_new_tokens,
            device=self.device,
            max_batch_tokens=max_batch_tokens,
            on_batch=on_batch,
            clock=clock,
            groups=groups,
        )

    def choice_logprobs(
        self,
        contexts: Sequence[str],
        choices: Sequence[str],
        on_batch: OnBatch,
        *,
        clock: StepClock | None = None,
        max_batch_tokens: int = 8192,
    ) -> None:
        from codesign.measurements.evaluate.generation import choice_logprobs

        choice_logprobs(
            self.loaded.model,
            self.tokenizer,
            contexts,
            choices,
            device=self.device,
            max_batch_tokens=max_batch_tokens,
            on_batch=on_batch,
            clock=clock,
        )

    def describe(self) -> dict[str, Any]:
        return {"name": self.engine, "device": self.device}


def encode(tokenizer, prompts: Sequence[Prompt]) -> list[list[int]]:
    """Token ids of rendered prompts: a rendered chat as it stands, a raw-text prompt with the
    tokenizer's own special tokens (as a plain-text harness sends it)."""
    return [tokenizer(p.text, add_special_tokens=p.special)["input_ids"] for p in prompts]


@ENGINES.register("local")
class Local(EngineKind):
    name = "local"
    help = "the variants run in this process on torch (the default)"

    @staticmethod
    def add_arguments(group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--real-kernels",
            action="store_true",
            help="local engine on a CPU: run quantized variants through their own kernels "
            "(bfloat16/float16: very slow without native 16-bit matrix units) instead of "
            "float32 copies of the weights those kernels use (the default; a GPU always runs "
            "the real kernels)",
        )

    def bind(self, variant: Any, device: str) -> LocalEngine:
        return LocalEngine(variant, device, real_kernels=self.args.real_kernels)

    def job_fields(self) -> dict[str, Any]:
        return {"engine": self.name, "real_kernels": self.args.real_kernels}

    @property
    def runs_locally(self) -> bool:
        return True
