"""Synthetic stores for tests and benchmarks: real suite items, seeded labels, no model runs.

Every builder here writes one model, some variants and a prediction per (variant, item),
whose label is right with a probability that grows with bits, otherwise a refusal, an
unparseable output or a wrong label. The pieces are shared; each builder only picks the item
counts and the label odds its tests were written against.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from importlib import resources

from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.measurements.evaluate.suites import SUITES, SuiteData, SuiteItem
from codesign.measurements.evaluate.suites.base import slim_item
from codesign.store import Prediction, Store

VARIANTS = (
    ("dense", 16),
    ("gptq", 8),
    ("gptq", 4),
    ("gptq", 3),
    ("awq", 8),
    ("awq", 4),
    ("awq", 3),
)


def synthetic_label(
    rng: random.Random,
    it: SuiteItem,
    quality: float,
    refusal: float,
    *,
    refused_share: float | None = None,
    wrong_only: bool = False,
) -> str:
    """Right with probability ``quality``; REFUSED or INVALID with probability ``refusal``
    (evenly, or REFUSED with ``refused_share``); otherwise a label drawn from the item's
    labels (only the wrong ones when ``wrong_only``)."""
    r = rng.random()
    if r < quality:
        return it.item.label
    if r < quality + refusal:
        if refused_share is None:
            return rng.choice([REFUSED, INVALID])
        return REFUSED if rng.random() < refused_share else INVALID
    labels = list(it.item.labels)
    if wrong_only:
        labels = [lab for lab in labels if lab != it.item.label] or labels
    return rng.choice(labels)


def suite_data(name: str, limit: int, settings: Iterable[str] | None = None) -> SuiteData:
    """A suite's seeded sample of ``limit`` items per setting, optionally fewer settings."""
    data = SUITES.get(name).load(limit, 0, None)
    if settings is None:
        return data
    keep = set(settings)
    return SuiteData([it for it in data.items if it.setting in keep], data.sources)


def add_variant(
    store: Store,
    model_id: int,
    key: str,
    method: str,
    bits: int,
    *,
    group_size: int = 64,
    weight_bytes: int | None = None,
) -> int:
    """A variant row with no weights behind it; returns its id."""
    row = store.add_variant(
        key=key,
        model_id=model_id,
        method=method,
        bits=bits,
        group_size=None if method == "dense" else group_size,
        seed=0,
        calibration="synthetic",
        backend="synthetic",
        backend_version="synthetic",
        path=None,
        weight_bytes_disk=weight_bytes,
        quantize_seconds=0.0,
        recipe={"method": method, "bits": bits},
    )
    return row.id


def add_predictions(
    store: Store,
    variant_id: int,
    name: str,
    data: SuiteData,
    label: Callable[[SuiteItem], str],
    provenance: str | None = None,
) -> None:
    """One stored prediction per item, its raw text the label itself."""
    provenance = provenance or data.provenance()
    preds = []
    for it in data.items:
        lab = label(it)
        extra = {"setting": it.setting, "item": slim_item(it), "data": provenance}
        suite = SUITES.get(name) if name in SUITES else None
        extra["protocol"] = suite.protocol if suite else ""
        key = suite.stored_key(it) if suite else it.key
        preds.append(Prediction(name, key, lab, lab, lab == REFUSED, 0, 0, extra))
    store.add_predictions(variant_id, preds)


def build_store(
    url: str,
    *,
    variants: Sequence[tuple[str, int]] = VARIANTS,
    suites: Iterable[str] | None = None,
    limit: int = 4,
    seed: int = 0,
) -> Store:
    """Every suite at ``limit`` items per setting; accuracy falls with bits, with some
    refusals and unparseable outputs (the scoring tests' store)."""
    store = Store(url)
    model_id = store.upsert_model("synthetic-fp", "synthetic", "dense (synthetic)", "test", {})
    rng = random.Random(seed)
    for method, bits in variants:
        key = f"{method}-{bits}"
        size = bits * 1000
        vid = add_variant(store, model_id, key, method, bits, group_size=128, weight_bytes=size)
        quality = 0.4 + 0.5 * bits / 16
        for name in suites or SUITES.names():
            add_predictions(
                store,
                vid,
                name,
                SUITES.get(name).load(limit, 0, None),
                lambda it, q=quality: synthetic_label(rng, it, q, 0.1),
            )
    return store


MODEL = "synthetic-smollm2"
SUITE_LIMITS = {  # suite -> (items per setting, settings kept or None for all)
    "adv_robustness": (6, None),
    "ethics": (3, None),
    "fairness": (12, ("zero_shot_br_0.5",)),
    "ood": (6, None),
    "mmlu_ll": (12, None),
    "mmlu_gen": (4, None),
}


def _config() -> dict:
    path = resources.files("codesign.simulators.model_presets") / "smollm2-135m.json"
    return json.loads(path.read_text())


def build_synthetic_store(
    url: str, *, variants=VARIANTS, seed: int = 0, limit: int | None = None
) -> Store:
    """Fill the store at `url` with one model, `variants` and seeded predictions; `limit`
    items per setting of every suite (all settings) instead of the small test sizes."""
    store = Store(url)
    model_id = store.upsert_model(
        "synthetic-fingerprint", MODEL, "dense (synthetic labels)", "tests", _config()
    )
    data = {
        name: suite_data(name, limit or n, settings if limit is None else None)
        for name, (n, settings) in SUITE_LIMITS.items()
    }
    for method, bits in variants:
        vid = add_variant(store, model_id, f"{method}-w{bits}-synthetic", method, bits)
        quality = 0.35 + 0.5 * bits / 16 + (0.04 if method == "awq" else 0.0)
        for name, items in data.items():
            rng = random.Random(f"{seed}-{method}-{bits}-{name}")  # a suite's labels stay put
            add_predictions(  # when another suite's items change
                store,
                vid,
                name,
                items,
                lambda it, q=quality, rng=rng: synthetic_label(rng, it, q, 0.08, wrong_only=True),
            )
    return store
