"""``model``: the model's own chat template (Hugging Face ``apply_chat_template``), the default
for every model comp-trust's fork has no conversation template for."""

from __future__ import annotations

from collections.abc import Sequence

from codesign.measurements.evaluate.engines.base import Prompt
from codesign.measurements.evaluate.templates.base import TEMPLATES, Chat, PromptTemplate


class ModelTemplate(PromptTemplate):
    name = "model"
    title = "the model's own chat template"

    def render(self, tokenizer, chats: Sequence[Chat], model: str) -> list[Prompt]:
        from codesign.measurements.evaluate.generation import chat_texts

        texts = chat_texts(tokenizer, chats)
        return [Prompt(t, False, tuple(c)) for t, c in zip(texts, chats, strict=True)]


TEMPLATES.add(ModelTemplate.name, ModelTemplate())
