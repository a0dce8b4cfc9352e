"""The batched AWQ clip search chooses what GPTQModel's own search chooses, on the tiny model's
weights, and is the one GPTQModel runs on CPU while codesign quantizes."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from codesign.measurements.quantize.backends.awq_clip import (
    batched_clip_search_on_cpu,
    compute_best_clip,
)

awq = pytest.importorskip("gptqmodel.looper.awq_processor")


def _processor(bits: int, group_size: int, sym: bool) -> SimpleNamespace:
    """The two attributes both searches read from an AWQProcessor (its constructor needs a
    whole model): the config and GPTQModel's own pseudo-quantizer."""
    ns = SimpleNamespace(qcfg=SimpleNamespace(bits=bits, group_size=group_size, sym=sym))
    ns._pseudo_quantize_tensor_into = partial(awq.AWQProcessor._pseudo_quantize_tensor_into, ns)
    return ns


def _error(proc, w, x, clip) -> torch.Tensor:
    """Each (row, group)'s output error with the chosen clip, computed the original way."""
    group = proc.qcfg.group_size
    w4 = w.reshape(w.shape[0], 1, -1, group)
    clipped = torch.clamp(w4, -clip.unsqueeze(1), clip.unsqueeze(1))
    quant = torch.empty_like(clipped)
    proc._pseudo_quantize_tensor_into(clipped, quant)
    x4 = x.reshape(1, x.shape[0], -1, group)
    return ((x4 * quant).sum(-1) - (x4 * w4).sum(-1)).pow(2).mean(1)


@pytest.mark.parametrize(("bits", "group", "sym"), [(3, 64, False), (4, 32, False), (4, 64, True)])
def test_the_batched_search_picks_the_clip_the_original_picks(tiny_llama, bits, group, sym):
    weights = load_file(str(tiny_llama / "model.safetensors"))
    w = weights["model.layers.0.mlp.down_proj.weight"].float()  # [128, 256]
    x = torch.randn(300, w.shape[1], generator=torch.Generator().manual_seed(bits)) * 0.5
    proc = _processor(bits, group, sym)
    original = awq.AWQProcessor._compute_best_clip(proc, w, x)
    batched = compute_best_clip(proc, w, x)
    assert batched.shape == original.shape
    same = torch.isclose(batched, original, rtol=1e-6, atol=0).float().mean().item()
    assert same > 0.99  # any other choice is a float tie between two grid points
    torch.testing.assert_close(
        _error(proc, w, x, batched), _error(proc, w, x, original), rtol=1e-4, atol=1e-9
    )


def test_the_patch_is_installed_only_inside_the_context():
    original = awq.AWQProcessor._compute_best_clip
    with batched_clip_search_on_cpu():
        assert awq.AWQProcessor._compute_best_clip is not original
    assert awq.AWQProcessor._compute_best_clip is original
