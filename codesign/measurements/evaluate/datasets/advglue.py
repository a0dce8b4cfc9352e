"""AdvGLUE++ items (SST-2, QQP, MNLI) from DecodingTrust's published JSON and hub layouts.

Format (DecodingTrust ``data/adv-glue-plus-plus/data/<model>.json``, see its README and
``src/dt/perspectives/advglue/gpt_eval.py``): a JSON object keyed by task, each a list of
records with ``idx``, ``label`` (GLUE index), the perturbed text fields (``sentence`` /
``question1``,``question2`` / ``premise``,``hypothesis``), the clean ``original_<field>``,
``method`` (attack) and ``data_construction``. Semattack records carry one pre-joined
``sentence`` ("premise: ... hypothesis: ...") even for pair tasks. The hub config
``adv-glue-plus-plus`` has one split (``<task>.jsonl``) per task with a ``model`` column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.base import (
    DATA_DIR,
    MNLI_LABELS,
    QQP_LABELS,
    REAL,
    SST2_LABELS,
    STAND_IN,
    Item,
    Loaded,
    find_first,
    make_source,
    read_json,
    read_jsonl,
)

TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "sst2": ("sentence",),
    "qqp": ("question1", "question2"),
    "mnli": ("premise", "hypothesis"),
    "mnli-mm": ("premise", "hypothesis"),
    "qnli": ("question", "sentence"),
    "rte": ("sentence1", "sentence2"),
}
# GLUE label index -> DecodingTrust label word (gpt_eval.py answer_mapping, inverted).
INDEX_TO_WORD: dict[str, tuple[str, ...]] = {
    "sst2": ("negative", "positive"),
    "qqp": ("no", "yes"),
    "mnli": ("yes", "maybe", "no"),
    "mnli-mm": ("yes", "maybe", "no"),
    "qnli": ("yes", "no"),
    "rte": ("yes", "no"),
}
VALID_LABELS: dict[str, tuple[str, ...]] = {
    "sst2": SST2_LABELS,
    "qqp": QQP_LABELS,
    "mnli": MNLI_LABELS,
    "mnli-mm": MNLI_LABELS,
    "qnli": ("yes", "no"),
    "rte": ("yes", "no"),
}
DEFAULT_TASKS = ("sst2", "qqp", "mnli")
STANDIN_FILE = DATA_DIR / "advglue_plus_plus.json"
_META_KEYS = ("method", "data_construction", "perturbation", "model")


def _split_joined(task: str, text: str) -> dict[str, str] | None:
    """Split a pre-joined "premise: a hypothesis: b" sentence into its two fields."""
    first, second = TASK_FIELDS[task]
    names = {"sentence1": "premise", "sentence2": "hypothesis"}
    a, b = names.get(first, first), names.get(second, second)
    m = re.match(rf"\s*{a}:\s*(.*?)\s*{b}:\s*(.*)$", text, re.IGNORECASE | re.DOTALL)
    return {first: m.group(1).strip(), second: m.group(2).strip()} if m else None


def record_to_item(
    task: str, record: Mapping[str, Any], prefix: str, pos: int, key: str | None = None
) -> Item:
    """One AdvGLUE++ record as an Item; meta keeps the clean text and the attack.

    ``key`` names the item within its task (default: the record's ``idx``).
    """
    keys = TASK_FIELDS[task]
    if all(isinstance(record.get(k), str) for k in keys):
        fields = {k: record[k] for k in keys}
    elif isinstance(record.get("sentence"), str):
        fields = _split_joined(task, record["sentence"]) if len(keys) == 2 else None
        if fields is None:
            raise CodesignError(f"{prefix}: {task} record {pos} has no {' / '.join(keys)} fields")
    else:
        raise CodesignError(f"{prefix}: {task} record {pos} has no text fields")
    try:
        label = INDEX_TO_WORD[task][int(record["label"])]
    except (KeyError, ValueError, IndexError, TypeError):
        raise CodesignError(f"{prefix}: {task} record {pos} has a bad label") from None
    idx = record.get("idx", record.get("index", pos))
    clean = {
        k: record[f"original_{k}"] for k in keys if isinstance(record.get(f"original_{k}"), str)
    }
    joined = record.get("original_sentence")
    if not clean and len(keys) == 2 and isinstance(joined, str):
        clean = _split_joined(task, joined) or {}
    perturbed = sorted(k for k in clean if clean[k] != fields[k])
    meta: dict[str, Any] = {"idx": idx, "clean": {**fields, **clean}, "perturbed": perturbed}
    meta.update({k: record[k] for k in _META_KEYS if k in record})
    name = f"{prefix}/{task}/{idx if key is None else key}"
    return Item(name, task, fields, label, VALID_LABELS[task], meta)


def items_from_tasks(
    by_task: Mapping[str, Iterable[Mapping[str, Any]]], tasks: Sequence[str], prefix: str
) -> list[Item]:
    unknown = [t for t in tasks if t not in TASK_FIELDS]
    if unknown:
        raise CodesignError(f"unknown AdvGLUE++ task(s) {unknown}; known: {sorted(TASK_FIELDS)}")
    items: list[Item] = []
    for task in tasks:
        records = list(by_task.get(task, ()))
        batch = [record_to_item(task, rec, prefix, pos) for pos, rec in enumerate(records)]
        if len({it.item_id for it in batch}) != len(batch):  # idx not unique: name by position
            batch = [record_to_item(task, r, prefix, p, f"#{p}") for p, r in enumerate(records)]
        items.extend(batch)
    return items


def load_advglue_json(
    path: str | Path, *, tasks: Sequence[str] = DEFAULT_TASKS, origin: str = REAL
) -> Loaded:
    """A DecodingTrust AdvGLUE++ file (``alpaca.json``, ``vicuna.json``, ...)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise CodesignError(f"{path}: expected a JSON object keyed by task")
    name = f"advglue++:{path.stem}"
    items = items_from_tasks(data, tasks, "advglue")
    desc = f"AdvGLUE++ ({', '.join(tasks)}) in DecodingTrust's JSON layout"
    return items, make_source(name, origin, path, desc, items)


def load_advglue_rows(
    splits: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    model: str | None = "alpaca",
    tasks: Sequence[str] = DEFAULT_TASKS,
    where: str = "rows",
) -> Loaded:
    """Hub config ``adv-glue-plus-plus``: a split per task, rows filtered by ``model``."""
    chosen = {
        t: [r for r in splits.get(t, ()) if model is None or r.get("model", model) == model]
        for t in tasks
    }
    name = f"advglue++:hub-{model or 'all'}"
    items = items_from_tasks(chosen, tasks, "advglue")
    desc = f"AdvGLUE++ ({', '.join(tasks)}) from the AI-Secure/DecodingTrust hub layout"
    return items, make_source(name, REAL, where, desc, items)


def load_advglue_path(
    path: str | Path, *, model: str = "alpaca", tasks: Sequence[str] = DEFAULT_TASKS
) -> Loaded:
    """A JSON file, a DecodingTrust checkout/data folder, or a hub snapshot folder."""
    root = Path(path)
    if root.is_file():
        return load_advglue_json(root, tasks=tasks)
    base = ("adv-glue-plus-plus/data", "data/adv-glue-plus-plus/data")
    json_names = [f"{b}/{model}.json" for b in base]
    if any((root / c).exists() for c in json_names):
        return load_advglue_json(find_first(root, json_names, "AdvGLUE++ file"), tasks=tasks)
    folder = find_first(root, (*base, "."), "AdvGLUE++ folder")
    splits = {t: read_jsonl(folder / f"{t}.jsonl") for t in tasks}
    return load_advglue_rows(splits, model=model, tasks=tasks, where=str(folder))


def load_advglue_default(*, tasks: Sequence[str] = DEFAULT_TASKS) -> Loaded:
    """The project's stand-in AdvGLUE++ items (no package ships AdvGLUE++)."""
    items, src = load_advglue_json(STANDIN_FILE, tasks=tasks, origin=STAND_IN)
    desc = "project-written stand-in AdvGLUE++-style items (clean text + perturbation in meta)"
    return items, make_source("advglue++:stand-in", STAND_IN, src.path, desc, items)
