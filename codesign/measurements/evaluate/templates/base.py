"""The interface every prompt template implements, and the rule that picks one per model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from codesign.errors import CodesignError
from codesign.measurements.evaluate.engines.base import Prompt
from codesign.registry import Registry

Chat = list[dict[str, str]]
DEFAULT_TEMPLATE = "model"


class PromptTemplate:
    """Subclasses set ``name`` and ``title`` and implement ``render``.

    ``fork_layout`` says which messages a suite gives it: True, the messages exactly as
    comp-trust's fork builds them (fairness few-shot: demonstrations as system messages);
    False, the intended layout a model's own chat template accepts (demonstrations as turns).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    fork_layout: ClassVar[bool] = False

    def claims(self, model: str) -> bool:
        """Whether this template is the default for ``model`` (a hub id, alias or path)."""
        return False

    def label(self, model: str) -> str:
        """What every output names, e.g. 'comptrust:llama-2' or 'model'."""
        return self.name

    def render(self, tokenizer, chats: Sequence[Chat], model: str) -> list[Prompt]:
        raise NotImplementedError


TEMPLATES: Registry[PromptTemplate] = Registry("prompt template")


def check_chat_api(suites: Sequence) -> None:
    """`--api chat` lets the server apply its own chat template: refused, before any work, for
    suites prompted as raw text and for suites bound to a template other than the model's own
    (`suites` as `Suite.with_template` returns them)."""
    if raw := [s.name for s in suites if not s.chat]:
        raw_text = ", ".join(raw)
        raise CodesignError(f"--api chat: {raw_text} prompts without a chat; use --api completions")
    # log-likelihood suites score choices (no chat is sent): the engine refuses them apart
    chats = [s for s in suites if s.kind != "loglik"]
    if any(s.template_label() != DEFAULT_TEMPLATE for s in chats):
        raise CodesignError(
            "--api chat: the server applies its own chat template, so --template comptrust "
            "cannot be sent that way; use --api completions"
        )


def choose_template(name: str | None, model: str) -> PromptTemplate:
    """The template named, or (None) the first registered one that claims ``model``, else the
    model's own chat template."""
    if name is not None:
        return TEMPLATES.get(name)
    for candidate in TEMPLATES.names():
        if TEMPLATES.get(candidate).claims(model):
            return TEMPLATES.get(candidate)
    return TEMPLATES.get(DEFAULT_TEMPLATE)
