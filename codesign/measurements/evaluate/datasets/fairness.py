"""DecodingTrust's published Adult fairness prompts (``data/fairness/fairness_data/*.jsonl``).

Each line: ``{"option": ["yes", "no"], "input": "description: ...", "label": "yes"|"no",
"examples": [[input, label], ...]}``. Beside each ``<stem>.jsonl`` sit
``gt_labels_<stem>.npy`` (0/1) and ``sensitive_attr_<stem>.npy`` ("Male"/"Female"). Files:
``adult_0_200_test_base_rate_{0.0,0.5,1.0}.jsonl`` (zero-shot),
``adult_32_200_train_base_rate_{br}.jsonl`` (32-shot, demonstrations at parity br),
``adult_{16,32}_200_train_br_0.0_test_br_0.5.jsonl``. The hub config ``fairness`` serves the
same jsonl rows, without the .npy files: the sex is then read from the description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.adult import sample_adult
from codesign.measurements.evaluate.datasets.base import (
    ADULT_LABELS,
    REAL,
    Item,
    Loaded,
    find_first,
    make_source,
    read_jsonl,
)

_SEX = re.compile(r"\bsex (Male|Female)\b")
_FOLDERS = ("fairness/fairness_data", "data/fairness/fairness_data", "fairness_data", ".")


def dt_file_names(
    shots: int, base_rate_parity: float, train_base_rate_parity: float = 0.0
) -> list[str]:
    """The names DecodingTrust gives one setting's prompt file (it publishes some twice)."""
    n = 200  # every published file has 200 test prompts
    te, tr = f"{base_rate_parity:.1f}", f"{train_base_rate_parity:.1f}"
    names = [f"adult_{shots}_{n}_train_br_{tr if shots else '0.0'}_test_br_{te}.jsonl"]
    if shots == 0:
        names.insert(0, f"adult_0_{n}_test_base_rate_{te}.jsonl")
    elif te == "0.0":
        names.append(f"adult_{shots}_{n}_train_base_rate_{tr}.jsonl")
    return names


def _sex_of(text: str, where: str) -> str:
    m = _SEX.search(text)
    if not m:
        raise CodesignError(f"{where}: no 'sex Male/Female' in the description")
    return m.group(1)


def rows_to_items(
    rows: Iterable[Mapping[str, Any]], prefix: str, sexes: list[str] | None = None
) -> list[Item]:
    items = []
    for i, row in enumerate(rows):
        label = str(row["label"]).strip().lower()
        labels = tuple(str(o).lower() for o in row.get("option", ADULT_LABELS))
        text = str(row["input"])
        sex = sexes[i] if sexes is not None else _sex_of(text, f"{prefix}/{i}")
        examples = tuple((str(x), str(y).lower()) for x, y in row.get("examples") or ())
        meta = {"sex": sex, "examples": examples}
        fields = {"input": text, "description": text.split("description:", 1)[-1].split("\n")[0]}
        fields["description"] = fields["description"].strip()
        items.append(Item(f"{prefix}/{i}", "adult", fields, label, labels, meta))
    return items


def load_fairness_jsonl(path: str | Path) -> Loaded:
    """One DecodingTrust fairness file, with its sensitive-attribute and label .npy files."""
    path = Path(path)
    rows = read_jsonl(path)
    sex_file = path.with_name(f"sensitive_attr_{path.stem}.npy")
    sexes = [str(s) for s in np.load(sex_file)] if sex_file.exists() else None
    if sexes is not None and len(sexes) != len(rows):
        raise CodesignError(f"{sex_file}: {len(sexes)} entries for {len(rows)} prompts")
    items = rows_to_items(rows, f"fairness/{path.stem}", sexes)
    gt_file = path.with_name(f"gt_labels_{path.stem}.npy")
    if gt_file.exists():
        gt = ["yes" if int(v) else "no" for v in np.load(gt_file)]
        if gt != [it.label for it in items]:
            raise CodesignError(f"{gt_file} disagrees with the labels in {path.name}")
    desc = "DecodingTrust Adult fairness prompts (sensitive attribute: sex)"
    return items, make_source(f"fairness:{path.stem}", REAL, path, desc, items)


def load_crime_jsonl(path: str | Path) -> Loaded:
    """One DecodingTrust crime file (``crime_0_300_test_base_rate_<br>.jsonl``, options
    high/low) with ``gt_labels_<stem>.npy`` beside it. comp-trust's fork scores DPD and EOD on
    crime with that ground-truth file as the sensitive attribute (its ``outfile2sensiattr``
    maps every crime file to ``gt_labels_crime_*.npy``): the code is followed, so the group of
    an item here is its ground-truth value."""
    path = Path(path)
    rows = read_jsonl(path)
    gt_file = path.with_name(f"gt_labels_{path.stem}.npy")
    if not gt_file.exists():
        raise CodesignError(f"{path}: its ground-truth file {gt_file.name} is not beside it")
    groups = [str(int(v)) for v in np.load(gt_file)]
    if len(groups) != len(rows):
        raise CodesignError(f"{gt_file}: {len(groups)} entries for {len(rows)} prompts")
    items = []
    for i, row in enumerate(rows):
        labels = tuple(str(o).lower() for o in row.get("option", ("high", "low")))
        meta = {"sex": groups[i], "positive": "low", "examples": ()}
        fields = {"input": str(row["input"])}
        label = str(row["label"]).strip().lower()
        items.append(Item(f"fairness/{path.stem}/{i}", "crime", fields, label, labels, meta))
    desc = "DecodingTrust crime fairness prompts (group: the ground-truth file, as comp-trust)"
    return items, make_source(f"fairness:{path.stem}", REAL, path, desc, items)


def is_decodingtrust_folder(path: object) -> bool:
    """A folder holding DecodingTrust's fairness files (not UCI Adult files, not one file)."""
    root = Path(str(path))
    if not root.is_dir():
        return False
    return any((root / d).is_dir() and any((root / d).glob("adult_*.jsonl")) for d in _FOLDERS)


def load_crime_path(root: str | Path, base_rate_parity: float) -> Loaded:
    """``crime_0_300_test_base_rate_<br>.jsonl`` found under a DecodingTrust folder."""
    name = f"crime_0_300_test_base_rate_{base_rate_parity:.1f}.jsonl"
    candidates = [f"{d}/{name}" for d in _FOLDERS]
    return load_crime_jsonl(find_first(Path(root), candidates, "DecodingTrust crime file"))


def load_fairness_rows(rows: Iterable[Mapping[str, Any]], *, name: str = "hub") -> Loaded:
    """Rows of the hub config ``fairness`` (the jsonl rows; sex read from the text)."""
    items = rows_to_items(list(rows), f"fairness/{name}")
    desc = "DecodingTrust Adult fairness prompts from the hub layout (sex parsed from the text)"
    return items, make_source(f"fairness:{name}", REAL, "rows", desc, items)


def load_fairness_path(
    path: str | Path,
    *,
    base_rate_parity: float = 0.5,
    shots: int = 0,
    train_base_rate_parity: float = 0.0,
    n: int = 200,
    seed: int = 0,
) -> Loaded:
    """A fairness jsonl file, a folder of UCI Adult files, or a DecodingTrust data/hub folder.

    ``n`` and ``seed`` apply to sampling UCI Adult files; a published file is read whole.
    """
    root = Path(path)
    if root.is_file():
        return load_fairness_jsonl(root)
    if any((root / d / "adult.data").exists() for d in (".", "adult", "dataset/adult")):
        return sample_adult(
            n=n,
            base_rate_parity=base_rate_parity,
            shots=shots,
            train_base_rate_parity=train_base_rate_parity,
            seed=seed,
            root=root,
        )
    names = dt_file_names(shots, base_rate_parity, train_base_rate_parity)
    candidates = [f"{d}/{name}" for name in names for d in _FOLDERS]
    return load_fairness_jsonl(find_first(root, candidates, "DecodingTrust fairness file"))
