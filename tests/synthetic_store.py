"""A store filled with real suite items and seeded synthetic labels (no model runs)."""

from __future__ import annotations

import random

from codesign.measurements.evaluate import slim_item
from codesign.measurements.labels import INVALID, REFUSED
from codesign.measurements.store import Prediction, Store
from codesign.measurements.suites import SUITES

VARIANTS = (
    ("dense", 16),
    ("gptq", 8),
    ("gptq", 4),
    ("gptq", 3),
    ("awq", 8),
    ("awq", 4),
    ("awq", 3),
)


def build_store(
    url: str, *, variants=VARIANTS, suites=None, limit: int = 4, seed: int = 0
) -> Store:
    """Variants whose accuracy falls with bits; some refusals and unparseable outputs."""
    store = Store(url)
    model_id = store.upsert_model("synthetic-fp", "synthetic", "dense (synthetic)", "test", {})
    rng = random.Random(seed)
    for method, bits in variants:
        row = store.add_variant(
            key=f"{method}-{bits}",
            model_id=model_id,
            method=method,
            bits=bits,
            group_size=None if method == "dense" else 128,
            seed=0,
            calibration="test",
            backend="test",
            backend_version="test",
            path=None,
            weight_bytes_disk=bits * 1000,
            quantize_seconds=0.0,
            recipe={"method": method, "bits": bits},
        )
        quality = 0.4 + 0.5 * bits / 16
        for name in suites or SUITES.names():
            data = SUITES.get(name).load(limit, 0, None)
            preds = []
            for it in data.items:
                r = rng.random()
                if r < quality:
                    label = it.item.label
                elif r < quality + 0.1:
                    label = rng.choice([REFUSED, INVALID])
                else:
                    label = rng.choice(it.item.labels)
                extra = {"setting": it.setting, "item": slim_item(it), "data": data.provenance()}
                preds.append(Prediction(name, it.key, label, label, label == REFUSED, 0, 0, extra))
            store.add_predictions(row.id, preds)
    return store
