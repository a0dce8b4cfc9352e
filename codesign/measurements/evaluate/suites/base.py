"""The one small interface every trust suite implements: items → prompts → labels → score.

A suite is one file with one registered object. It loads its items (a seeded, stratified
sample per setting), turns each into chat messages in DecodingTrust's wording, parses the raw
generation with the shared label parser, and scores a list of labels — one variant's, or an
ensemble's after voting. Scoring takes labels, not a model, so every ensemble subset is
scored from the store without running anything.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any, ClassVar

from codesign.measurements.evaluate.datasets import DataSource, Item
from codesign.measurements.evaluate.datasets.prompts import (
    FEW_SHOT_ACK,
    SYSTEM_FEW_SHOT,
    SYSTEM_ZERO_SHOT,
)
from codesign.measurements.evaluate.labels import REFUSED, parse_label
from codesign.registry import Registry

# Published data per data set name (``--data DATASET=PATH``), or hub rows; None: offline default.
Sources = Mapping[str, Any] | None


@dataclass(frozen=True)
class SuiteItem:
    """An item inside one setting of a suite; ``key`` is unique within the suite."""

    key: str
    setting: str
    item: Item


@dataclass(frozen=True)
class SuiteData:
    items: list[SuiteItem]
    sources: list[DataSource]
    # demonstrations per setting where the suite supplies them (else counted from the items')
    shots: dict[str, int] | None = None
    notes: tuple[str, ...] = ()  # e.g. settings the data given could not provide
    # the settings each source serves (parallel to ``sources``; None: every setting)
    source_settings: tuple[tuple[str, ...], ...] | None = None

    def shots_per_setting(self) -> dict[str, int]:
        if self.shots is not None:
            return dict(self.shots)
        out: dict[str, int] = {}
        for it in self.items:
            n = len(it.item.meta.get("examples", ()) or ())
            out[it.setting] = max(out.get(it.setting, 0), n)
        return out

    def sources_used(self, settings: set[str]) -> list[DataSource]:
        """Each source once (a file several settings draw from is named once), and only those
        serving a setting that runs (left-out settings' files are not named)."""
        serve = self.source_settings or tuple(() for _ in self.sources)
        out: dict[tuple[str, int], DataSource] = {}
        for src, names in zip(self.sources, serve, strict=True):
            if not names or settings & set(names):
                out.setdefault((src.name, src.n_items), src)
        return list(out.values())

    def provenance(self) -> str:
        """e.g. 'stand-in: advglue++:stand-in (60 items); 60 prompts; settings (items×shots):
        sst2 20×2-shot, ...' — what every report must name."""
        counts: dict[str, int] = {}
        for it in self.items:
            counts[it.setting] = counts.get(it.setting, 0) + 1
        used = self.sources_used(set(counts))
        origins = sorted({s.origin for s in used})
        names = "; ".join(f"{s.name} ({s.n_items} items)" for s in used)
        settings = ", ".join(
            f"{k} {counts.get(k, 0)}×{v}-shot" for k, v in self.shots_per_setting().items()
        )
        notes = "".join(f"; {note}" for note in self.notes)
        head = f"{'+'.join(origins)}: {names}; {len(self.items)} prompts"
        return f"{head}; settings (items×shots): {settings}{notes}"


class Suite:
    """Base class: subclasses set the class attributes and implement load/user_text/score.

    The class attributes are everything the rest of codesign needs to know of a suite: the
    evaluate command reads ``datasets`` (its ``--data`` names), scoring and the search read
    ``trust`` (whether the suite is one of the trust perspectives averaged into trust), the
    report reads ``title``, ``short`` and ``order``. tests/measurements/evaluate/
    test_suite_registry.py fails for a registered suite that lacks one."""

    name: ClassVar[str]
    perspective: ClassVar[str]  # what the suite measures, e.g. "fairness" or "mmlu"
    title: ClassVar[str]  # e.g. "Machine ethics" (figure panels, tables)
    short: ClassVar[str]  # e.g. "ethics" (narrow table columns)
    order: ClassVar[int]  # display order in reports (trust perspectives first)
    trust: ClassVar[bool] = False  # one of the trust perspectives averaged into trust
    datasets: ClassVar[tuple[str, ...]]  # names in the data-set catalog (DATASETS) it reads
    kind: ClassVar[str] = "generate"  # or "loglik"
    chat: ClassVar[bool] = True  # prompts through the chat template; False: prompt_text raw
    # The prompt protocol, stored with every prediction: rows of another protocol are never
    # scored together with this one (a suite that changes its prompts changes this, and its
    # setting names, so its new items get new keys).
    protocol: ClassVar[str] = ""
    max_new_tokens: ClassVar[int] = 8
    label_set: ClassVar[tuple[str, ...]]  # every label any item may take (for voting codes)
    # The prompt template (codesign.measurements.evaluate.templates) a chat suite's messages
    # are rendered with, and the model it was chosen for; set on a copy by ``with_template``
    # (None: the model's own chat template).
    template: Any = None
    template_model: str = ""

    def load(self, limit: int | None, seed: int, sources: Sources = None) -> SuiteData:
        """A seeded, stratified sample of ``limit`` items per setting; ``sources`` maps data-set
        names to published data (absent names use the offline default)."""
        raise NotImplementedError

    def user_text(self, it: SuiteItem) -> str:
        raise NotImplementedError

    def instruction(self, it: SuiteItem) -> str:
        return ""

    def with_template(self, template: Any, model: str) -> Suite:
        """This suite rendering its messages with ``template`` for ``model`` (a copy: the
        registered suite is left as it is)."""
        view = copy.copy(self)
        view.template, view.template_model = template, model
        return view

    def template_label(self) -> str:
        """What every output names: the template and its conversation ('comptrust:llama-2'),
        'model', or 'raw text' for a suite prompted without a chat (or scoring choices)."""
        if not self.chat or self.kind == "loglik":
            return "raw text"
        return self.template.label(self.template_model) if self.template else "model"

    def stored_key(self, it: SuiteItem) -> str:
        """The item's key in the store: prefixed by the prompt protocol, so outputs of a new
        protocol never collide with (or resume from) those of an older one, and by the prompt
        template where it is not the model's own, so two templates' outputs never mix."""
        label = self.template_label()
        protocol = self.protocol if label in ("model", "raw text") else f"{self.protocol}@{label}"
        return f"{protocol}/{it.key}" if protocol else it.key

    def prompt_text(self, it: SuiteItem) -> str:
        """The whole prompt as raw text, for suites that prompt without the chat template."""
        raise NotImplementedError

    def batch_group(self, it: SuiteItem) -> str:
        """Items of one group share a long prompt prefix; they are batched together so it is
        prefilled once (default: one group)."""
        return ""

    def demonstrations(self, it: SuiteItem) -> Sequence[tuple[str, str]]:
        return tuple(it.item.meta.get("examples", ()) or ())

    def messages(self, it: SuiteItem) -> list[dict[str, str]]:
        """DecodingTrust's chat layout: zero-shot puts the task and input in one user turn;
        few-shot acknowledges the task, then replays the demonstrations as turns."""
        demos = self.demonstrations(it)
        task = self.instruction(it)
        if not demos:
            user = f"{task}\n{self.user_text(it)}" if task else self.user_text(it)
            return [
                {"role": "system", "content": SYSTEM_ZERO_SHOT},
                {"role": "user", "content": user},
            ]
        msgs = [
            {"role": "system", "content": SYSTEM_FEW_SHOT},
            {"role": "user", "content": task},
            {"role": "assistant", "content": FEW_SHOT_ACK},
        ]
        for text, answer in demos:
            msgs.append({"role": "user", "content": text})
            msgs.append({"role": "assistant", "content": str(answer).capitalize()})
        msgs.append({"role": "user", "content": self.user_text(it)})
        return msgs

    def fork_messages(self, it: SuiteItem) -> list[dict[str, str]]:
        """The messages as comp-trust's fork builds them, for its own conversation templates
        (a suite whose fork layout differs from ``messages`` overrides this)."""
        return self.messages(it)

    def chat_messages(self, it: SuiteItem) -> list[dict[str, str]]:
        """The messages this suite's template is given: the fork's layout for a template that
        renders as the fork does, the intended one otherwise."""
        fork = self.template is not None and self.template.fork_layout
        return self.fork_messages(it) if fork else self.messages(it)

    def idk(self, it: SuiteItem) -> str | None:
        """The label meaning "I don't know", where the item offers one."""
        return None

    def refusal_vote(self, it: SuiteItem) -> str | None:
        """Where refusal is itself an answer, the label a refusal votes for; else None."""
        return None

    def parse(self, it: SuiteItem, raw: str) -> str:
        return parse_label(raw, it.item.labels, idk=self.idk(it))

    def score(self, items: Sequence[SuiteItem], labels: Sequence[str]) -> dict[str, float]:
        """Metrics (0–100 for scores, 0–1 for rates); must include 'score' and 'refusal_rate'."""
        raise NotImplementedError


def accuracy(items: Sequence[SuiteItem], labels: Sequence[str]) -> float:
    """Correct over all items: refusals and unparseable outputs count as wrong."""
    if not items:
        return float("nan")
    return sum(lab == it.item.label for it, lab in zip(items, labels, strict=True)) / len(items)


def label_share(labels: Sequence[str], *values: str) -> float:
    """Share of ``labels`` equal to one of ``values`` (NaN when there are none): the one count
    behind refusal rates, false-positive rates and the no-valid and unanswered rates."""
    n = len(labels)
    return sum(lab in values for lab in labels) / n if n else float("nan")


def refusal_rate(labels: Sequence[str]) -> float:
    return label_share(labels, REFUSED)


def group(
    items: Sequence[SuiteItem], labels: Sequence[str], key: Callable[[SuiteItem], Any]
) -> dict[Any, tuple[list, list]]:
    """Items and their labels per ``key(item)``, in first-seen order."""
    groups: dict[Any, tuple[list, list]] = {}
    for it, lab in zip(items, labels, strict=True):
        g = groups.setdefault(key(it), ([], []))
        g[0].append(it)
        g[1].append(lab)
    return groups


def by_setting(items: Sequence[SuiteItem], labels: Sequence[str]) -> dict[str, tuple[list, list]]:
    return group(items, labels, lambda it: it.setting)


def mean_measured(values: Sequence[float]) -> float:
    """The mean of the values that are numbers (NaN: a setting or part that scored nothing);
    NaN when none is."""
    numbers = [v for v in values if not math.isnan(v)]
    return fmean(numbers) if numbers else math.nan


def wrap(setting: str, items: Sequence[Item]) -> list[SuiteItem]:
    return [SuiteItem(f"{setting}|{it.item_id}", setting, it) for it in items]


SLIM_META_DROP = ("examples",)


def slim_item(it: SuiteItem) -> dict[str, Any]:
    """What scoring needs of an item, JSON-ready: its fields (a parser may compare the reply
    with an option's text), labels and metadata, without demonstrations or prompt text."""
    meta = {k: v for k, v in it.item.meta.items() if k not in SLIM_META_DROP}
    return {
        "item_id": it.item.item_id,
        "task": it.item.task,
        "label": it.item.label,
        "labels": list(it.item.labels),
        "fields": dict(it.item.fields),
        "meta": meta,
    }


def suite_item_from_stored(key: str, extra: dict[str, Any]) -> SuiteItem:
    """The item as stored beside its prediction (stores written before fields were kept give
    an item without fields)."""
    d = extra["item"]
    fields = d.get("fields") or {}
    item = Item(d["item_id"], d["task"], fields, d["label"], tuple(d["labels"]), d["meta"])
    return SuiteItem(key, extra["setting"], item)


SUITES: Registry[Suite] = Registry("suite")


def source_of(sources: Sources, dataset: str) -> Any:
    """The published data given for ``dataset``, or None for its offline default."""
    return None if sources is None else sources.get(dataset)


def suite_order() -> tuple[str, ...]:
    """Every registered suite's name in display order."""
    return tuple(sorted(SUITES.names(), key=lambda n: (SUITES.get(n).order, n)))


def trust_suites() -> tuple[str, ...]:
    """The trust perspectives: the suites whose scores trust averages, in display order. The
    one definition every stage uses (scores, the search, the report key trust by these names)."""
    return tuple(n for n in suite_order() if SUITES.get(n).trust)
