"""Evaluation on a CPU through exact float32 copies of a quantized model's weights.

gptqmodel's CPU kernels compute in bfloat16 or float16, which a CPU without native 16-bit
matrix units runs 20-100x slower than the dense float32 model (measured here: a 2 x 64-token
forward of SmolLM2-135M GPTQ-3 took ~19 s in bfloat16, ~0.5 s for the dense model). The
trust suites need a variant's answers, not its kernel's speed, so on a CPU each quantized
linear layer is replaced by a float32 ``nn.Linear`` holding the weights its kernel really
uses, read back by passing the identity matrix through the kernel: a one-hot row times the
dequantized weights is one weight, exact in the kernel's dtype. The model then runs in float32
like the dense baseline, so variants differ by their weights, not by activation rounding.
Latency and memory are still profiled through the real kernels (profiling.py), and every
prediction records which path produced it.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def quantized_linears(model: torch.nn.Module) -> Iterator[tuple[str, torch.nn.Module]]:
    """(qualified name, module) of every quantized linear layer: a module with linear
    dimensions that is not a plain ``nn.Linear``; its own submodules are not visited."""
    skip: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in skip):
            continue
        if isinstance(module, torch.nn.Linear):
            continue
        if hasattr(module, "in_features") and hasattr(module, "out_features"):
            skip.append(name)
            yield name, module


def _probe(module: torch.nn.Module, dtype: torch.dtype, start: int, stop: int) -> torch.Tensor:
    """Rows ``start:stop`` of the (in, out) weights: one-hot inputs through the kernel."""
    eye = torch.zeros((stop - start, int(module.in_features)), dtype=dtype)
    eye[:, start:stop].fill_diagonal_(1)
    return module(eye).float()


def kernel_weight(
    module: torch.nn.Module, dtype: torch.dtype, chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight (out, in), bias or None) that ``module`` computes with, read through it.

    A kernel with its own ``dequantize_weight`` (gptqmodel's torch kernels) has it used when
    its first rows equal the probe's exactly; otherwise every row is probed."""
    n_in = int(module.in_features)
    bias = getattr(module, "bias", None)
    with torch.inference_mode():
        if isinstance(bias, torch.Tensor):
            module.bias = None  # read the weights alone, then put the bias back
        try:
            head = _probe(module, dtype, 0, min(8, n_in))
            weight = None
            if callable(getattr(module, "dequantize_weight", None)):
                try:
                    own = module.dequantize_weight().float()
                except (NotImplementedError, RuntimeError, ValueError):
                    own = None  # inherited, but not for this kernel's repacked layout
                if (
                    own is not None
                    and own.shape == (n_in, head.shape[1])
                    and torch.equal(own[: len(head)], head)
                ):
                    weight = own
            if weight is None:
                weight = torch.cat(
                    [_probe(module, dtype, i, min(i + chunk, n_in)) for i in range(0, n_in, chunk)]
                )
        finally:
            if isinstance(bias, torch.Tensor):
                module.bias = bias
    kept_bias = bias.detach().float().clone() if isinstance(bias, torch.Tensor) else None
    return weight.T.contiguous(), kept_bias


def to_float32_linears(model: torch.nn.Module, kernel_dtype: torch.dtype) -> int:
    """Replace every quantized linear of ``model`` by its float32 copy, cast the rest of the
    model to float32; returns how many layers were replaced."""
    replaced = 0
    for name, module in list(quantized_linears(model)):
        weight, bias = kernel_weight(module, kernel_dtype)
        # skip_init: no random initialisation of weights about to be overwritten
        linear = torch.nn.utils.skip_init(
            torch.nn.Linear, weight.shape[1], weight.shape[0], bias=bias is not None
        )
        with torch.no_grad():
            linear.weight.copy_(weight)
            if bias is not None:
                linear.bias.copy_(bias)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, linear)
        replaced += 1
    model.to(torch.float32)
    return replaced
