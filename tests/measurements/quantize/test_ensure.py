"""Quantization on tiny random models: the right backend per (method, bits), and caching."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesign.errors import CodesignError
from codesign.measurements.quantize.backends import QUANTIZERS, backend_for
from codesign.measurements.quantize.calibration_text import CalibrationSpec
from codesign.measurements.quantize.ensure import ensure_variant
from codesign.measurements.quantize.models import resolve_model
from codesign.measurements.quantize.recipes import VariantSpec
from codesign.store import Store

CALIB = CalibrationSpec(n_samples=8, seq_len=64)


def _relative_logits_error(dense_dir: Path, row) -> float:
    import torch

    dense = QUANTIZERS.get("dense").load(dense_dir, "cpu").model
    quant = QUANTIZERS.get(row.backend).load(Path(row.path), "cpu").model
    ids = torch.randint(
        10, dense.config.vocab_size, (2, 48), generator=torch.Generator().manual_seed(1)
    )
    with torch.inference_mode():
        a = dense(ids).logits.float()
        b = quant(ids).logits.float()
    return float((a - b).norm() / a.norm())


@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_logits_error_falls_as_bits_rise(method, tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    errors = {}
    for bits in (3, 4, 8):
        row = ensure_variant(store, model, VariantSpec(method, bits), CALIB).row
        errors[bits] = _relative_logits_error(tiny_llama, row)
    assert errors[3] > errors[4] > errors[8], errors
    assert errors[8] < 0.05, errors


def test_gptqmodel_awq8_is_wrong_so_llmcompressor_serves_it(tiny_llama, store_url):
    """Pins why AWQ-8 uses llm-compressor: gptqmodel 7.6.0's AWQ-8 is worse than its AWQ-4.

    If an upgrade fixes it, this fails: then switch DEFAULT_BACKEND back to gptqmodel.
    """
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    assert backend_for("awq", 8).name == "llmcompressor"
    awq4 = ensure_variant(store, model, VariantSpec("awq", 4), CALIB).row
    wrong8 = ensure_variant(
        store, model, VariantSpec("awq", 8), CALIB, backend_name="llmcompressor"
    ).row
    assert _relative_logits_error(tiny_llama, wrong8) < _relative_logits_error(tiny_llama, awq4)


@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_qwen2_quantizes_at_4_bits_with_a_real_int4_kernel(method, tiny_qwen2, store_url):
    """GPTQModel's AWQ-4 loads a real int4 kernel (a GPU's default; on a CPU AWQ-4 defaults to
    llm-compressor, by measured time)."""
    store = Store(store_url)
    model = resolve_model(str(tiny_qwen2))
    spec = VariantSpec(method, 4)
    row = ensure_variant(store, model, spec, CALIB, backend_name="gptqmodel").row
    loaded = QUANTIZERS.get(row.backend).load(Path(row.path), "cpu")
    assert loaded.real_low_bit, loaded.kernel
    assert "int4" in loaded.kernel


def test_second_request_returns_the_cached_variant_without_quantizing(
    tiny_llama, store_url, monkeypatch
):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    first = ensure_variant(store, model, VariantSpec("gptq", 4), CALIB)

    def boom(*args, **kwargs):
        raise AssertionError("quantized twice")

    monkeypatch.setattr(QUANTIZERS.get("gptqmodel"), "quantize", boom)
    again = ensure_variant(store, model, VariantSpec("gptq", 4), CALIB)
    assert again.cached and again.row.key == first.row.key
    # a new store still finds the checkpoint in the cache: no second quantization
    other = Store(store_url.replace("store.db", "other.db"))
    assert ensure_variant(other, model, VariantSpec("gptq", 4), CALIB).cached


def test_the_seed_makes_a_different_variant(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    a = ensure_variant(store, model, VariantSpec("gptq", 3, seed=0), CALIB).row
    b = ensure_variant(store, model, VariantSpec("gptq", 3, seed=1), CALIB).row
    assert a.key != b.key and a.path != b.path


def test_the_cpu_default_is_the_faster_backend_and_dtype_and_the_recipe_says_so(
    tiny_llama, store_url
):
    """On a CPU: AWQ-3/4 through llm-compressor, GPTQ quantized in float32 (both measured
    faster by bench/quantize_choices.py); a GPU keeps GPTQModel for its AWQ kernels."""
    assert backend_for("awq", 4, device="cpu").name == "llmcompressor"
    assert backend_for("awq", 4, device="cuda:0").name == "gptqmodel"
    assert backend_for("awq", 4, "gptqmodel", device="cpu").name == "gptqmodel"  # forced
    gptq = QUANTIZERS.get("gptqmodel")
    assert gptq.quantize_dtype("gptq", "cpu") == "float32"
    assert gptq.quantize_dtype("gptq", "cuda") is None and gptq.quantize_dtype("awq", "cpu") is None
    store = Store(store_url)
    row = ensure_variant(store, resolve_model(str(tiny_llama)), VariantSpec("gptq", 4), CALIB).row
    assert row.recipe["dtype"] == "float32"


def test_unsupported_pairs_are_refused_in_one_line():
    with pytest.raises(CodesignError, match="not supported"):
        backend_for("awq", 2)
    with pytest.raises(CodesignError, match="unknown method"):
        backend_for("smoothquant", 8)
    with pytest.raises(CodesignError, match="cannot quantize"):
        backend_for("awq", 3, "dense")


def test_llmcompressor_refuses_widths_the_group_does_not_divide(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    with pytest.raises(CodesignError, match="not a multiple"):
        ensure_variant(
            store, model, VariantSpec("awq", 8, group_size=512), CALIB, backend_name="llmcompressor"
        )


def test_gptq_8bit_loads_the_real_int8_kernel_on_cpu(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    row = ensure_variant(store, model, VariantSpec("gptq", 8), CALIB).row
    loaded = QUANTIZERS.get(row.backend).load(Path(row.path), "cpu")
    assert loaded.real_low_bit and "int8" in loaded.kernel, loaded.kernel
