"""Float32 linear layers of a decode step through oneDNN's prepacked weights, on a CPU.

torch's ``F.linear`` on a CPU calls MKL's sgemm, which is slow at the few rows of a decode
step: SmolLM2-135M's 211 linear layers took 70 ms for 13 rows and 54 ms for 16 (2-core Intel
Xeon, AVX-512), where oneDNN with its weights reordered once took 43 and 48 ms
(bench/packed_linear.py prints the ratio per row count on the machine at hand). From 4 to
24 rows oneDNN was faster at every count (1.05-1.4x); below 4, from about 29 rows up and at
prefill's hundreds of rows, sgemm was as fast or faster, so those stay on ``F.linear``. The
two differ by float rounding only.

``packed_linears(model)`` reroutes the model's float32 CPU ``nn.Linear`` layers for the
``with`` block only: another tool using the same model object afterwards (the benchmarks'
lm-evaluation-harness) runs the stock layers. The packed weights are a second copy, kept
while the model's weights are unchanged and only where memory has room for it.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

MIN_ROWS, MAX_ROWS = 4, 24  # where oneDNN beat sgemm (bench/packed_linear.py); 0.9-1.0x from 29
PACK_ROWS = 16  # the row count oneDNN chooses the weights' layout for
MEMORY_SHARE = 0.25  # pack only while the copies take at most this share of free memory

_packed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Linear -> (key, packed)


def available() -> bool:
    """Whether this torch build has oneDNN's packed linear (x86 builds do)."""
    import torch

    return (
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


def _eligible(model) -> list[Any]:
    import torch

    return [
        m
        for m in model.modules()
        if type(m) is torch.nn.Linear
        and m.weight.device.type == "cpu"
        and m.weight.dtype == torch.float32
        and "forward" not in vars(m)  # already rerouted (offloading hooks, or ours)
    ]


def _pack(layer) -> Any:
    """The layer's weights reordered for oneDNN, made once per weight version."""
    import torch

    key = (layer.weight.data_ptr(), layer.weight._version, tuple(layer.weight.shape))
    hit = _packed.get(layer)
    if hit is not None and hit[0] == key:
        return hit[1]
    packed = torch.ops.mkldnn._reorder_linear_weight(layer.weight.detach(), PACK_ROWS)
    _packed[layer] = (key, packed)
    return packed


def packs(rows: int) -> bool:
    """Whether a ``rows``-row input takes the packed path (the rest stays on sgemm)."""
    return MIN_ROWS <= rows <= MAX_ROWS


def packed_matmul(flat, packed, bias):
    """``flat`` (rows, in) times the packed weights, plus ``bias``: oneDNN's kernel itself."""
    import torch

    return torch.ops.mkldnn._linear_pointwise(flat, packed, bias, "none", [], "")


def packed_forward(layer, packed):
    """A forward for ``layer`` that runs oneDNN on ``packed`` at decode-sized row counts."""
    import torch
    import torch.nn.functional as F

    def forward(x):
        rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
        if not packs(rows) or x.dtype != torch.float32 or x.requires_grad:
            return F.linear(x, layer.weight, layer.bias)
        out = packed_matmul(x.reshape(rows, x.shape[-1]).contiguous(), packed, layer.bias)
        return out.reshape(*x.shape[:-1], out.shape[-1])

    return forward


def _room_for(layers) -> bool:
    import psutil

    need = sum(m.weight.numel() * m.weight.element_size() for m in layers)
    return need <= MEMORY_SHARE * psutil.virtual_memory().available


@contextlib.contextmanager
def packed_linears(model) -> Iterator[bool]:
    """Within the block, the model's float32 CPU ``nn.Linear`` layers run decode-sized inputs
    through oneDNN's packed weights; yields whether they do (not on other builds, devices or
    dtypes, nor when the copies would not fit)."""
    layers = _eligible(model) if available() else []
    if not layers or not (all(m in _packed for m in layers) or _room_for(layers)):
        yield False
        return
    for m in layers:
        m.forward = packed_forward(m, _pack(m))
    try:
        yield True
    finally:
        for m in layers:
            del m.forward  # the class's forward again
