"""ETHICS commonsense items (the CSVs DecodingTrust's machine-ethics perspective reads).

Format (hendrycks/ethics ``commonsense/cm_test.csv``, also under DecodingTrust's
``data/machine_ethics/ethics/``): header ``label,input,is_short,edited``; label 1 = wrong.
DecodingTrust's "commonsense_short" setting keeps ``is_short`` rows and draws few-shot
demonstrations from ``cm_train.csv``. Hub config ``machine_ethics`` (splits ``cm_test``,
``cm_train``) has rows with ``label`` (a list or int) and ``input1``. Jailbreak and evasive
variants of the immoral items come from ``jailbreak_items`` / ``evasive_items``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.base import (
    DATA_DIR,
    ETHICS_LABELS,
    REAL,
    STAND_IN,
    Item,
    Loaded,
    find_first,
    make_source,
)
from codesign.measurements.evaluate.datasets.prompts import EVASIVE_SENTENCES, JAILBREAK_PROMPTS

STANDIN_TEST = DATA_DIR / "ethics_cm_test.csv"
DEFAULT_SHOTS = 32  # DecodingTrust's few-shot setting for commonsense
DEMO_SEED = 100  # test_machine_ethics.py: random.seed(100) at import, then sample per item
_CSV_COLUMNS = {"label", "input", "is_short", "edited"}


def _word(label: Any) -> str:
    value = int(label[0] if isinstance(label, list | tuple) else label)
    if value not in (0, 1):
        raise CodesignError(f"ETHICS label must be 0 or 1, got {label!r}")
    return "wrong" if value == 1 else "not wrong"


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def rows_to_items(
    rows: Iterable[Mapping[str, Any]],
    prefix: str,
    *,
    short_only: bool = True,
    demos: Sequence[tuple[str, str]] = (),
    shots: int = 0,
) -> list[Item]:
    """ETHICS rows as Items; each carries ``shots`` demonstrations drawn from ``demos``.

    Drawn as comp-trust's fork draws them (machine_ethics/test_machine_ethics.py): one stream
    seeded ``DEMO_SEED`` at import, ``random.sample`` of the training rows once per kept test
    row in file order, so item i's demonstrations are the fork's for any subset of items."""
    items = []
    pool = list(demos)
    stream = random.Random(DEMO_SEED)
    for i, row in enumerate(rows):
        text = row.get("input", row.get("input1"))
        if not isinstance(text, str) or not text.strip():
            raise CodesignError(f"{prefix}: row {i} has no input text")
        is_short = _flag(row.get("is_short", True))
        if short_only and not is_short:
            continue
        item_id = f"{prefix}/{i}"
        examples = tuple(stream.sample(pool, shots)) if shots else ()
        meta = {
            "is_short": is_short,
            "edited": _flag(row.get("edited", False)),
            "examples": examples,
        }
        items.append(
            Item(item_id, "ethics", {"scenario": text}, _word(row["label"]), ETHICS_LABELS, meta)
        )
    return items


def read_ethics_csv(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise CodesignError(f"ETHICS file not found: {path}")
    try:
        df = pd.read_csv(path, dtype={"input": str}, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        raise CodesignError(f"{path} is not an ETHICS CSV: {e}") from None
    missing = _CSV_COLUMNS - set(df.columns)
    if missing:
        raise CodesignError(f"{path}: missing ETHICS columns {sorted(missing)}")
    return df.to_dict("records")


def _demo_pairs(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Short training rows as (scenario, label word), as DecodingTrust draws demonstrations."""
    return [
        (str(r.get("input", r.get("input1"))), _word(r["label"]))
        for r in rows
        if _flag(r.get("is_short", True))
    ]


def _train_file(test: Path) -> Path:
    head, sep, tail = test.name.rpartition("test")
    return test.with_name(f"{head}train{tail}") if sep else test


def load_ethics_csv(
    path: str | Path,
    *,
    short_only: bool = True,
    shots: int = DEFAULT_SHOTS,
    seed: int = 0,
    origin: str = REAL,
) -> Loaded:
    """``cm_test.csv`` (demonstrations from the sibling ``cm_train.csv`` when present).
    ``seed`` is the loaders' shared signature: the demonstrations follow the fork's fixed
    stream (``rows_to_items``), whatever the item sample's seed."""
    path = Path(path)
    train = _train_file(path)
    demos = _demo_pairs(read_ethics_csv(train)) if train != path and train.exists() else []
    if shots and not demos:  # never a silent zero-shot run under a few-shot name
        raise CodesignError(
            f"{path}: {shots}-shot ETHICS needs its demonstrations in {train.name} beside it "
            f"(not found: {train})"
        )
    shots = min(shots, len(demos))
    items = rows_to_items(
        read_ethics_csv(path),
        "ethics",
        short_only=short_only,
        demos=demos,
        shots=shots,
    )
    desc = f"ETHICS commonsense{' (short)' if short_only else ''}, {shots}-shot demonstrations"
    return items, make_source(f"ethics:{path.stem}", origin, path, desc, items)


def load_ethics_rows(
    test: Iterable[Mapping[str, Any]],
    train: Iterable[Mapping[str, Any]] = (),
    *,
    short_only: bool = True,
    shots: int = DEFAULT_SHOTS,
    seed: int = 0,
) -> Loaded:
    """Hub config ``machine_ethics``: rows of split ``cm_test`` (and ``cm_train`` for demos)."""
    demos = _demo_pairs(train)
    if shots and not demos:
        raise CodesignError(f"hub machine_ethics rows: {shots}-shot ETHICS needs a cm_train split")
    shots = min(shots, len(demos))
    items = rows_to_items(test, "ethics", short_only=short_only, demos=demos, shots=shots)
    desc = f"ETHICS commonsense from the hub layout, {shots}-shot demonstrations"
    return items, make_source("ethics:hub", REAL, "rows", desc, items)


def load_ethics_path(path: str | Path, **options: Any) -> Loaded:
    """``cm_test.csv`` itself, or an ETHICS / DecodingTrust folder that contains it."""
    root = Path(path)
    if root.is_file():
        return load_ethics_csv(root, **options)
    rel = "commonsense/cm_test.csv"
    folders = ("", "ethics/", "machine_ethics/ethics/", "data/machine_ethics/ethics/")
    return load_ethics_csv(find_first(root, [f + rel for f in folders], rel), **options)


def load_ethics_default(**options: Any) -> Loaded:
    """The project's stand-in ETHICS-style scenarios (no package ships ETHICS)."""
    items, src = load_ethics_csv(STANDIN_TEST, origin=STAND_IN, **options)
    desc = f"project-written stand-in ETHICS commonsense scenarios; {src.description}"
    return items, make_source("ethics:stand-in", STAND_IN, src.path, desc, items)


def jailbreak_items(
    items: Iterable[Item], prompt_ids: Iterable[int] = tuple(JAILBREAK_PROMPTS)
) -> list[Item]:
    """One copy of each immoral item per jailbreak prompt (fields gain ``jailbreak_prompt``)."""
    out = []
    for it in items:
        if it.label != "wrong":
            continue
        for pid in prompt_ids:
            fields = {**it.fields, "jailbreak_prompt": JAILBREAK_PROMPTS[pid]}
            meta = {**it.meta, "variant": "jailbreak", "prompt_id": pid, "base_id": it.item_id}
            out.append(
                replace(it, item_id=f"{it.item_id}/jailbreak{pid}", fields=fields, meta=meta)
            )
    return out


def evasive_items(
    items: Iterable[Item], sentence_ids: Iterable[int] = tuple(EVASIVE_SENTENCES)
) -> list[Item]:
    """One copy of each immoral item per evasive sentence, appended to the scenario."""
    out = []
    for it in items:
        if it.label != "wrong":
            continue
        for sid in sentence_ids:
            sentence = EVASIVE_SENTENCES[sid]
            scenario = it.fields["scenario"] + sentence  # the fork's concatenation: no space
            fields = {**it.fields, "scenario": scenario, "evasive_sentence": sentence}
            meta = {**it.meta, "variant": "evasive", "prompt_id": sid, "base_id": it.item_id}
            out.append(replace(it, item_id=f"{it.item_id}/evasive{sid}", fields=fields, meta=meta))
    return out
