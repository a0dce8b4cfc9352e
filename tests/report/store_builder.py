"""A small store for report tests, built from the shared synthetic pieces.

Fairness keeps two of its six settings: its scoring is the slow part of voting every subset,
and two settings are enough to show per-setting sub-metrics.
"""

from __future__ import annotations

import random
from functools import cache

from codesign.measurements.evaluate.labels import INVALID, REFUSED
from codesign.measurements.evaluate.suites import SUITES, SuiteData
from codesign.store import Store
from codesign.testing.synthetic_store import add_predictions, add_variant, synthetic_label
from codesign.testing.synthetic_store import suite_data as _suite_data

MODEL = "tiny-report-model"
BASELINE = "dense (dequantized from Q4_1 GGUF)"
VARIANTS = (("dense", 16), ("gptq", 8), ("gptq", 3), ("awq", 4))
FAIRNESS_SETTINGS = ("zero_shot_br_0.0", "few_shot_tr_br_1.0")


@cache
def suite_data(name: str, limit: int = 4) -> SuiteData:
    return _suite_data(name, limit, FAIRNESS_SETTINGS if name == "fairness" else None)


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
        key = f"{model}-{method}-{bits}"
        vid = add_variant(store, model_id, key, method, bits, weight_bytes=bits * 1000)
        quality, refusal = 0.45 + 0.45 * bits / 16, 0.25 - 0.2 * bits / 16
        for name in suites or SUITES.names():
            loglik = SUITES.get(name).kind == "loglik"

            def label(it, q=quality, r=refusal, loglik=loglik) -> str:
                lab = synthetic_label(rng, it, q, r, refused_share=0.7)
                if loglik and lab in (REFUSED, INVALID):
                    lab = rng.choice(it.item.labels)  # log-likelihood always answers
                return lab

            add_predictions(store, vid, name, suite_data(name), label)
    return store
