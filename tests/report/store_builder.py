"""A small store for report tests: real suite items, seeded synthetic labels, no model runs.

Fairness keeps two of its six settings: its scoring (fairlearn) is the slow part of voting
every subset, and two settings are enough to show per-setting sub-metrics.
"""

from __future__ import annotations

import random
from functools import cache

from codesign.measurements.evaluate import slim_item
from codesign.measurements.labels import INVALID, REFUSED
from codesign.measurements.store import Prediction, Store
from codesign.measurements.suites import SUITES, SuiteData

MODEL = "tiny-report-model"
BASELINE = "dense (dequantized from Q4_1 GGUF)"
VARIANTS = (("dense", 16), ("gptq", 8), ("gptq", 3), ("awq", 4))
FAIRNESS_SETTINGS = ("br0-zero", "br1-few")


@cache
def suite_data(name: str, limit: int = 4) -> SuiteData:
    data = SUITES.get(name).load(limit, 0, None)
    if name == "fairness":
        data = SuiteData([i for i in data.items if i.setting in FAIRNESS_SETTINGS], data.sources)
    return data


def _label(rng: random.Random, item, quality: float, refusal: float) -> str:
    r = rng.random()
    if r < quality:
        return item.item.label
    if r < quality + refusal:
        return REFUSED if rng.random() < 0.7 else INVALID
    return rng.choice(item.item.labels)


def build_report_store(
    url: str,
    *,
    variants=VARIANTS,
    suites=None,
    model: str = MODEL,
    seed: int = 0,
) -> Store:
    """Accuracy falls with bits and refusals rise: a store shaped like a real evaluation."""
    store = Store(url)
    model_id = store.upsert_model(f"fp-{model}", model, BASELINE, "test", {})
    rng = random.Random(seed)
    for method, bits in variants:
        row = store.add_variant(
            key=f"{model}-{method}-{bits}",
            model_id=model_id,
            method=method,
            bits=bits,
            group_size=None if method == "dense" else 64,
            seed=0,
            calibration="test",
            backend="test",
            backend_version="test",
            path=None,
            weight_bytes_disk=bits * 1000,
            quantize_seconds=0.0,
            recipe={"method": method, "bits": bits},
        )
        quality, refusal = 0.45 + 0.45 * bits / 16, 0.25 - 0.2 * bits / 16
        for name in suites or SUITES.names():
            data = suite_data(name)
            preds = []
            for it in data.items:
                label = _label(rng, it, quality, refusal)
                if SUITES.get(name).kind == "loglik" and label in (REFUSED, INVALID):
                    label = rng.choice(it.item.labels)  # log-likelihood always answers
                extra = {"setting": it.setting, "item": slim_item(it), "data": data.provenance()}
                preds.append(Prediction(name, it.key, label, label, label == REFUSED, 0, 0, extra))
            store.add_predictions(row.id, preds)
    return store
