"""Float32 copies of quantized layers hold exactly the weights their kernels compute with."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from codesign.measurements.quantize.backends import QUANTIZERS
from codesign.measurements.quantize.calibration_text import CalibrationSpec
from codesign.measurements.quantize.dequantize import (
    kernel_weight,
    quantized_linears,
    to_float32_linears,
)
from codesign.measurements.quantize.ensure import ensure_variant
from codesign.measurements.quantize.models import resolve_model
from codesign.measurements.quantize.recipes import VariantSpec
from codesign.store import Store

CALIB = CalibrationSpec(n_samples=8, seq_len=64)


class _Kernel(torch.nn.Module):
    """A stand-in low-bit kernel: bfloat16 weights, no dequantize_weight of its own."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.in_features, self.out_features = n_in, n_out
        g = torch.Generator().manual_seed(0)
        self.register_buffer("w", torch.randn(n_out, n_in, generator=g).to(torch.bfloat16))
        self.register_buffer("bias", torch.randn(n_out, generator=g).to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x @ self.w.T
        return out + self.bias if self.bias is not None else out


def test_the_probe_reads_every_weight_and_the_bias_exactly():
    kernel = _Kernel(37, 11)
    weight, bias = kernel_weight(kernel, torch.bfloat16, chunk=8)  # several chunks
    assert torch.equal(weight, kernel.w.float())
    assert torch.equal(bias, kernel.bias.float())
    assert kernel.bias is not None  # put back


@pytest.mark.parametrize("method,bits", [("gptq", 3), ("gptq", 4), ("gptq", 8), ("awq", 3)])
def test_float32_copies_compute_what_the_kernels_compute(method, bits, tiny_llama, store_url):
    # GPTQModel's kernels (on a CPU AWQ-3 otherwise comes from llm-compressor as plain Linear)
    row = ensure_variant(
        Store(store_url),
        resolve_model(str(tiny_llama)),
        VariantSpec(method, bits),
        CALIB,
        backend_name="gptqmodel",
    ).row
    loaded = QUANTIZERS.get(row.backend).load(Path(row.path), "cpu")
    dtype = getattr(torch, loaded.dtype)
    layers = list(quantized_linears(loaded.model))
    assert layers, loaded.kernel
    x = torch.randn(5, layers[0][1].in_features, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        for _, module in layers[:4]:
            weight, bias = kernel_weight(module, dtype)
            want = module(x.to(dtype)).float()
            got = x.to(dtype).float() @ weight.T + (bias if bias is not None else 0)
            torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)

    ids = torch.randint(10, 400, (2, 24), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        before = loaded.model(ids).logits.float()
    assert to_float32_linears(loaded.model, dtype) == len(layers)
    assert not list(quantized_linears(loaded.model))
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    with torch.inference_mode():
        after = loaded.model(ids).logits
    # the same weights; only the kernels' 16-bit activation rounding is gone
    assert float((after - before).norm() / before.norm()) < 0.05
