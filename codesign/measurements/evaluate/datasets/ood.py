"""DecodingTrust OOD items: style-shifted sentiment (``style.json``), out-of-scope knowledge
(``knowledge.json``), and the hub config ``ood`` (splits ``style``, ``knowledge``).

``style.json``: ``{"dev": {category: [{"sentence", "label": "0"|"1", "id"}]}, "train_demo":
{"base_0": [...], ...}}`` with categories ``base``, ``augment``, ``shake_w``, ``shake_p0``,
``shake_p0.6``, ``bible_p0``, ``bible_p0.6``, ``romantic_p0``, ``romantic_p0.6``,
``tweet_p0``, ``tweet_p0.6`` (rows aligned by ``id`` with ``base``).
``knowledge.json``: ``{"test": {"qa_2020": [...], "qa_2023": [...]}, "demo": {...}}``, rows
``question_id``, ``question_date``, ``question_sentence``, ``choices`` (4), ``answer``
(list of index strings), ``question_source``, ``question_url``, ``evidence``. Hub rows
carry the same fields plus ``category``.

Knowledge items use letters A-D with E = "I don't know"; for out-of-scope categories the
gold label is E, and ``meta["answer"]`` keeps the factual letter when it is known, so a
suite can score DecodingTrust's RR and MACC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets.base import (
    CHOICE_LETTERS,
    DATA_DIR,
    IDK_LETTER,
    IDK_TEXT,
    KNOWLEDGE_LABELS,
    REAL,
    STAND_IN,
    STYLE_LABELS,
    Item,
    Loaded,
    find_first,
    make_source,
    read_json,
    read_jsonl,
)

STYLE_STANDIN = DATA_DIR / "ood_style.json"
KNOWLEDGE_STANDIN = DATA_DIR / "ood_knowledge.json"
OUT_OF_SCOPE = ("qa_2023", "qa_2026")  # DecodingTrust's OOD set, and this project's stand-in
_STYLE_FAMILIES = {
    "shake_w": "shakespeare_words",
    "shake": "shakespeare",
    "bible": "bible",
    "romantic": "romantic_poetry",
    "tweet": "tweet",
    "augment": "augment",
    "base": "base",
}
_DEMO_CATEGORY = re.compile(r"_\d+$")


def style_family(category: str) -> str:
    """``shake_p0.6`` -> ``shakespeare``: the style a DecodingTrust category belongs to."""
    for prefix, family in _STYLE_FAMILIES.items():
        if category == prefix or category.startswith(prefix + "_"):
            return family
    return category


def _sentiment(label: Any) -> str:
    try:
        return STYLE_LABELS[int(label)]
    except (ValueError, IndexError, TypeError):
        raise CodesignError(f"sentiment label must be 0 or 1, got {label!r}") from None


def style_items(
    dev: Mapping[str, Sequence[Mapping[str, Any]]],
    demos: Sequence[Mapping[str, Any]],
    prefix: str,
    categories: Sequence[str] | None = None,
) -> list[Item]:
    """Styled sentences as Items; ``meta['clean']`` is the aligned ``base`` sentence."""
    chosen = categories or [c for c in dev if c != "base"]
    missing = [c for c in chosen if c not in dev]
    if missing:
        raise CodesignError(f"{prefix}: no style categories {missing} (have {sorted(dev)})")
    base = {str(r.get("id", i)): r["sentence"] for i, r in enumerate(dev.get("base", ()))}
    examples = tuple((str(d["sentence"]), _sentiment(d["label"])) for d in demos)
    items = []
    for cat in chosen:
        family = style_family(cat)
        for i, row in enumerate(dev[cat]):
            rid = str(row.get("id", i))
            meta = {"style": family, "category": cat, "id": rid, "examples": examples}
            if rid in base:
                meta["clean"] = base[rid]
            fields = {"sentence": str(row["sentence"])}
            label = _sentiment(row["label"])
            items.append(
                Item(f"{prefix}/{cat}/{rid}", f"style:{family}", fields, label, STYLE_LABELS, meta)
            )
    return items


def load_style_json(
    path: str | Path,
    *,
    categories: Sequence[str] | None = None,
    demo_set: str | None = "base_0",
    origin: str = REAL,
) -> Loaded:
    """DecodingTrust ``style.json`` (all styled categories unless ``categories`` is given)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or "dev" not in data:
        raise CodesignError(f"{path}: expected DecodingTrust's style.json with a 'dev' key")
    demos = data.get("train_demo", {}).get(demo_set, ()) if demo_set else ()
    items = style_items(data["dev"], demos, "style", categories)
    desc = f"OOD style-shifted SST-2 sentences, demonstrations from {demo_set or 'none'}"
    return items, make_source(f"ood_style:{path.stem}", origin, path, desc, items)


def load_style_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    categories: Sequence[str] | None = None,
    demo_set: str | None = "base_0",
) -> Loaded:
    """Hub config ``ood`` split ``style`` (rows: category, question_sentence, answer)."""
    dev: dict[str, list[dict[str, Any]]] = {}
    demo: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        cat = str(row["category"])
        target = demo if _DEMO_CATEGORY.search(cat) else dev
        rec = {"sentence": row["question_sentence"], "label": row["answer"]}
        group = target.setdefault(cat, [])
        group.append({**rec, "id": row.get("id", len(group))})
    demos = demo.get(demo_set, ()) if demo_set else ()
    items = style_items(dev, demos, "style", categories)
    desc = "OOD style-shifted SST-2 sentences from the hub layout"
    return items, make_source("ood_style:hub", REAL, "rows", desc, items)


def _answer_letter(answer: Any) -> str | None:
    """DecodingTrust's answer (``["2"]``, ``"2"`` or ``2``) as a letter; None when unknown."""
    if isinstance(answer, list | tuple):
        answer = answer[0] if answer else None
    if answer is None or answer == "":
        return None
    return CHOICE_LETTERS[int(answer)]


def knowledge_item(row: Mapping[str, Any], category: str, prefix: str, pos: int, out: bool) -> Item:
    choices = list(row["choices"])
    if len(choices) != 4:
        raise CodesignError(f"{prefix}: question {pos} has {len(choices)} choices, not 4")
    answer = _answer_letter(row.get("answer"))
    if not out and answer is None:
        raise CodesignError(f"{prefix}: in-scope question {pos} has no answer")
    fields = {"question": str(row["question_sentence"]), "date": str(row.get("question_date", ""))}
    fields.update(zip(CHOICE_LETTERS, map(str, choices), strict=True))
    fields[IDK_LETTER] = IDK_TEXT
    qid = str(row.get("question_id") or pos)
    meta = {
        "idk": IDK_LETTER,
        "answer": answer,
        "scope": "out" if out else "in",
        "category": category,
        "source": row.get("question_source", ""),
    }
    label = IDK_LETTER if out else answer
    return Item(f"{prefix}/{category}/{qid}", "knowledge", fields, label, KNOWLEDGE_LABELS, meta)


def knowledge_items(
    test: Mapping[str, Sequence[Mapping[str, Any]]],
    prefix: str,
    categories: Sequence[str] | None,
    out_of_scope: Sequence[str],
) -> list[Item]:
    chosen = categories or [c for c in test if c in out_of_scope]
    missing = [c for c in chosen if c not in test]
    if missing or not chosen:
        raise CodesignError(
            f"{prefix}: no knowledge categories {missing or chosen} (have {sorted(test)})"
        )
    return [
        knowledge_item(row, cat, prefix, pos, cat in out_of_scope)
        for cat in chosen
        for pos, row in enumerate(test[cat])
    ]


def knowledge_demos(rows: Sequence[Mapping[str, Any]], shots: int) -> tuple[tuple[str, str], ...]:
    """DecodingTrust's knowledge demonstrations (evaluation_ood.py load_demonstrations): the
    question and its numbered options, answered by the option's number."""
    out = []
    for row in list(rows)[:shots]:
        text = f"Question: {row['question_sentence']}\n"
        text += "".join(f"{i} : {c} \n" for i, c in enumerate(row["choices"]))
        answer = row["answer"]
        out.append((text, str(answer[0] if isinstance(answer, list | tuple) else answer)))
    return tuple(out)


def load_knowledge_json(
    path: str | Path,
    *,
    categories: Sequence[str] | None = None,
    out_of_scope: Sequence[str] = OUT_OF_SCOPE,
    demo_set: str | None = None,
    shots: int = 5,
    origin: str = REAL,
) -> Loaded:
    """DecodingTrust ``knowledge.json`` (by default its out-of-scope categories only); with
    ``demo_set`` (e.g. ``global_facts_0``) each item carries ``shots`` demonstrations."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or "test" not in data:
        raise CodesignError(f"{path}: expected DecodingTrust's knowledge.json with a 'test' key")
    items = knowledge_items(data["test"], "knowledge", categories, out_of_scope)
    if demo_set is not None:
        rows = data.get("demo", {}).get(demo_set)
        if not rows:
            raise CodesignError(f"{path}: no demonstration set {demo_set!r}")
        demos = knowledge_demos(rows, shots)
        items = [replace(it, meta={**it.meta, "examples": demos}) for it in items]
    desc = f"OOD knowledge QA with an '{IDK_TEXT}' option ({IDK_LETTER})"
    return items, make_source(f"ood_knowledge:{path.stem}", origin, path, desc, items)


def load_knowledge_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    categories: Sequence[str] | None = None,
    out_of_scope: Sequence[str] = OUT_OF_SCOPE,
) -> Loaded:
    """Hub config ``ood`` split ``knowledge``: rows with ``category`` (``qa_2020``, ...)."""
    test: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        test.setdefault(str(row["category"]), []).append(row)
    items = knowledge_items(test, "knowledge", categories, out_of_scope)
    desc = f"OOD knowledge QA from the hub layout, '{IDK_TEXT}' option ({IDK_LETTER})"
    return items, make_source("ood_knowledge:hub", REAL, "rows", desc, items)


def _locate(root: Path, name: str) -> Path:
    stem = name.split(".")[0]
    folders = ("", "ood/", "data/ood/", "data/ood/styles/", "data/ood/knowledge/")
    return find_first(root, [f + n for f in folders for n in (name, f"{stem}.jsonl")], name)


def load_style_path(path: str | Path, **options: Any) -> Loaded:
    """``style.json``, a hub ``style.jsonl``, or a DecodingTrust/hub folder holding one."""
    path = Path(path)
    path = path if path.is_file() else _locate(path, "style.json")
    if path.suffix == ".jsonl":
        return load_style_rows(read_jsonl(path), **options)
    return load_style_json(path, **options)


def load_knowledge_path(path: str | Path, **options: Any) -> Loaded:
    """``knowledge.json``, a hub ``knowledge.jsonl``, or a folder holding one."""
    path = Path(path)
    path = path if path.is_file() else _locate(path, "knowledge.json")
    if path.suffix == ".jsonl":
        return load_knowledge_rows(read_jsonl(path), **options)
    return load_knowledge_json(path, **options)


def load_style_default(**options: Any) -> Loaded:
    """The project's stand-in style-shifted sentences (no package ships DecodingTrust OOD)."""
    items, src = load_style_json(STYLE_STANDIN, origin=STAND_IN, **options)
    desc = f"project-written stand-in restyled sentiment sentences; {src.description}"
    return items, make_source("ood_style:stand-in", STAND_IN, src.path, desc, items)


def load_knowledge_default(**options: Any) -> Loaded:
    """The project's stand-in questions about events after a 2024-era training cutoff."""
    items, src = load_knowledge_json(KNOWLEDGE_STANDIN, origin=STAND_IN, **options)
    desc = f"project-written stand-in questions on 2026-27 events; {src.description}"
    return items, make_source("ood_knowledge:stand-in", STAND_IN, src.path, desc, items)
