"""``comptrust``: prompts rendered as comp-trust's DecodingTrust fork renders them for a
Hugging Face model, so the text a model is sent equals the text behind the paper's numbers.

Read from github.com/decoding-comp-trust/DecodingTrust at 0cf3fc1: ``src/dt/conversation.py``
(FastChat-era conversation templates) and ``src/dt/chat.py`` (``HFChat.messages_to_prompt``),
with the template each model family is configured with in comp-trust's
``configs/model_config/*.yaml`` (0810efb): LLaMA-2 chat models ``llama-2``, LLaMA-2 base
models ``redpajama-incite-instruct``, Vicuna ``vicuna_v1.1``; the fork's default Hugging Face
config (``configs/model_config/hf.yaml``) names ``llama-2``, used for a model it names none for.

Two behaviours of that code are followed on purpose, because the paper measured them:

- A system message *replaces* the template's system text, and the llama-2 template keeps its
  whole ``<s>[INST] <<SYS>>\\n…\\n<</SYS>>\\n\\n`` wrapper in that text: so a prompt with a system
  message (every DecodingTrust prompt) starts with the bare system text glued to the first user
  message, with no ``[INST]`` and no ``<<SYS>>``.
- Every system message replaces the one before. Fairness few-shot puts each demonstration in a
  system message (``example_prefix=True``), so what the model receives is the last
  demonstration's answer glued to the test item: no instruction, no other demonstration.

The text is encoded with the tokenizer's own special tokens added (the fork's HELM client
encodes the prompt with the tokenizer's defaults), so LLaMA-2 gets its ``<s>`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codesign.measurements.evaluate.engines.base import Prompt
from codesign.measurements.evaluate.templates.base import TEMPLATES, Chat, PromptTemplate

Turns = list[tuple[str, str | None]]


def _llama2(system: str, roles: tuple[str, str], turns: Turns) -> str:
    """SeparatorStyle.LLAMA2 (sep ' ', sep2 ' </s><s>'): the first message follows the system
    text directly; later ones are 'role message' plus the separator of their side."""
    out = ""
    for i, (role, message) in enumerate(turns):
        if not message:
            out += role
        elif i == 0:
            out += system + message
        else:
            out += f"{role} {message}" + (" " if i % 2 == 0 else " </s><s>")
    return out


def _colon_two(system: str, roles: tuple[str, str], turns: Turns) -> str:
    """SeparatorStyle.ADD_COLON_TWO (sep ' ', sep2 '</s>')."""
    out = system + " "
    for i, (role, message) in enumerate(turns):
        out += f"{role}: {message}" + (" " if i % 2 == 0 else "</s>") if message else f"{role}:"
    return out


def _instruct(system: str, roles: tuple[str, str], turns: Turns) -> str:
    """SeparatorStyle.INSTRUCT (sep '\\n'): user text bare, 'answer: ' before the replies."""
    out = system
    for role, message in turns:
        if not message:
            out += f"{role}:"
        else:
            out += (f"{role}: {message}" if role == "answer" else message) + "\n"
    return out


@dataclass(frozen=True)
class Conversation:
    system: str
    roles: tuple[str, str]
    style: Callable[[str, tuple[str, str], Turns], str]

    def prompt(self, messages: Chat) -> str:
        """HFChat.messages_to_prompt: system messages replace the system text (each the one
        before); user and assistant messages are turns; an empty assistant turn ends it."""
        system, turns = self.system, []
        for m in messages:
            if m["role"] == "system":
                system = m["content"]
            else:
                turns.append((self.roles[m["role"] == "assistant"], m["content"]))
        return self.style(system, self.roles, [*turns, (self.roles[1], None)])


LLAMA2_SYSTEM = (
    "<s>[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant. Always answer as "
    "helpfully as possible, while being safe. Your answers should not include any harmful, "
    "unethical, racist, sexist, toxic, dangerous, or illegal content. Please ensure that your "
    "responses are socially unbiased and positive in nature.\n\nIf a question does not make "
    "any sense, or is not factually coherent, explain why instead of answering something not "
    "correct. If you don't know the answer to a question, please don't share false "
    "information.\n<</SYS>>\n\n"
)
CONVERSATIONS = {
    "llama-2": Conversation(LLAMA2_SYSTEM, ("[INST]", "[/INST]"), _llama2),
    "vicuna_v1.1": Conversation(
        "A chat between a curious user and an artificial intelligence assistant. The "
        "assistant gives helpful, detailed, and polite answers to the user's questions.",
        ("USER", "ASSISTANT"),
        _colon_two,
    ),
    "redpajama-incite-instruct": Conversation("", ("", "answer"), _instruct),
}
FORK_DEFAULT = "llama-2"  # configs/model_config/hf.yaml


def family(model: str) -> str | None:
    """The conversation template comp-trust's configs give this model, or None."""
    name = model.lower().replace("_", "-")
    if "vicuna" in name:
        return "vicuna_v1.1"
    if "llama-2" in name:
        return "llama-2" if "chat" in name else "redpajama-incite-instruct"
    return None


class CompTrustTemplate(PromptTemplate):
    name = "comptrust"
    title = "comp-trust's fork conversation template"
    fork_layout = True

    def claims(self, model: str) -> bool:
        return family(model) is not None

    def conversation(self, model: str) -> str:
        return family(model) or FORK_DEFAULT

    def label(self, model: str) -> str:
        return f"{self.name}:{self.conversation(model)}"

    def render(self, tokenizer, chats: Sequence[Chat], model: str) -> list[Prompt]:
        conv = CONVERSATIONS[self.conversation(model)]
        return [Prompt(conv.prompt(c), True, tuple(c)) for c in chats]


TEMPLATES.add(CompTrustTemplate.name, CompTrustTemplate())
