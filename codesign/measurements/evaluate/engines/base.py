"""The engine interface: the two requests every suite is made of, as small as lm-eval's ``LM``.

A suite never talks to a model. It renders prompts (``Prompt``: the text codesign renders with
the variant's tokenizer and chat template, and the conversation behind it) and asks an engine
bound to one variant for greedy continuations (``generate_until``) or for the log-likelihood of
each answer choice after a context (``choice_logprobs``). The in-process ``local`` engine runs
them on torch; ``openai`` sends them to any server speaking the OpenAI API (vLLM, SGLang, TGI,
llama.cpp, transformers serve). An engine is one module of this package, registered in
``ENGINES`` by the name ``--engine`` takes: its options, its checks before any work, and its
binding to variants live in that one file.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from codesign.measurements.evaluate.decoding import StepClock
from codesign.measurements.evaluate.generation import Generation
from codesign.registry import Registry


@dataclass(frozen=True)
class Prompt:
    """One prompt as codesign renders it. ``text`` is the whole prompt (the chat template
    applied for chat suites); ``special`` says whether the tokenizer's own special tokens are to
    be added when it is encoded (raw-text suites, as a plain-text harness sends them; a
    rendered chat already holds its own); ``messages`` is the conversation, for chat-only APIs."""

    text: str
    special: bool
    messages: tuple[dict[str, str], ...] | None = None


OnBatch = Callable[[list[int], list[Any]], None]  # indices of the inputs, their results


class Engine(ABC):
    """One variant behind one engine. Results reach ``on_batch`` as they finish (indices into
    the inputs and their results, any order), so a caller stores them as they come."""

    runtime: str = ""  # how it ran, in words: stored with every prediction

    @property
    @abstractmethod
    def tokenizer(self) -> Any:
        """The variant's tokenizer: prompts are rendered with it on every engine."""

    @abstractmethod
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
        """Greedy continuations (``Generation``) of every prompt, up to ``max_new_tokens``
        tokens or the end-of-sequence token. ``groups`` are prompts sharing a long prefix."""

    @abstractmethod
    def choice_logprobs(
        self,
        contexts: Sequence[str],
        choices: Sequence[str],
        on_batch: OnBatch,
        *,
        clock: StepClock | None = None,
        max_batch_tokens: int = 8192,
    ) -> None:
        """log P(choice | context) for every context (a list per context, one per choice)."""

    def describe(self) -> dict[str, Any]:
        """What a prediction records of the engine (name, server, model, version)."""
        return {"name": self.name}

    @property
    def name(self) -> str:
        return type(self).engine

    engine: ClassVar[str] = ""


class EngineKind(ABC):
    """What ``--engine NAME`` selects: its command-line options, the checks it makes before any
    work starts (bad input: a ``CodesignError``, exit 2), and one ``Engine`` per variant."""

    name: ClassVar[str]
    help: ClassVar[str]

    @staticmethod
    def add_arguments(group: argparse._ArgumentGroup) -> None:
        """This engine's own options (each engine's flags are named after it)."""
        return None

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def check_arguments(self, variant_labels: Sequence[str], suites: Sequence[Any] = ()) -> None:
        """Refuse bad options, and a server that cannot serve what is asked, before anything
        is created (``variant_labels`` as the command names them, e.g. ``dense``, ``gptq-w4``;
        ``suites`` the suites it runs)."""
        return None

    @abstractmethod
    def bind(self, variant: Any, device: str) -> Engine:
        """The engine for one stored variant (``VariantRow``), loading nothing yet."""

    def job_fields(self) -> dict[str, Any]:
        """What of this engine shapes results, for the id of a command's work units."""
        return {"engine": self.name}

    @property
    def runs_locally(self) -> bool:
        """Whether the variants run in this process (their weights are loaded here)."""
        return False


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "EngineKind", "Generation", "OnBatch", "Prompt"]

ENGINES: Registry[type[EngineKind]] = Registry("engine")
DEFAULT_ENGINE = "local"
