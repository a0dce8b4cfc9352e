"""The kernel probe: the CPU roofline's terms measured on a tiny random model."""

from __future__ import annotations

import pytest

from codesign.measurements import kernel_probe
from codesign.measurements.quantize.backends import QUANTIZERS


def test_linear_fit_recovers_a_rate_and_a_per_call_cost():
    points = [(size, 20e-6 + size / 5e9) for size in (1_000, 50_000, 400_000)]
    rate, call = kernel_probe.linear_fit(points)
    assert rate == pytest.approx(5e9) and call == pytest.approx(20e-6)
    # one size only: no line to fit, the rate is what that size achieved
    rate, call = kernel_probe.linear_fit([(1_000, 1e-6), (1_000, 2e-6)])
    assert rate == pytest.approx(1e9) and call == 0.0


def test_probe_of_a_dense_tiny_llama(tiny_llama):
    model = QUANTIZERS.get("dense").load(tiny_llama, "cpu").model
    terms = kernel_probe.probe(model, model.dtype)
    assert terms is not None and terms["dtype"] == "float32"
    assert terms["linear_bits"] == pytest.approx(32.0)  # fp32 weights, no bias
    assert terms["gemv_gbs"] > 0 and terms["kernel_gbs"] > 0 and terms["kernel_call_us"] >= 0
    assert terms["layer_overhead_us"] is not None and terms["layer_overhead_us"] >= 0
    assert "microbenchmarks" in terms["how"]


def test_a_model_without_decoder_layers_has_nothing_to_probe():
    import torch

    assert kernel_probe.probe(torch.nn.Linear(4, 4), torch.float32) is None
