"""What the CPU roofline needs to model a profiled variant on the host that ran it, measured
there with the variant loaded, never from the decode step it is judged against.

Three measurements, each a microbenchmark of a part, not of the whole step:

- ``gemv_gbs``: the rate at which a dense matrix-vector product in the variant's dtype streams
  weights from memory (synthetic weights, a working set of ``STREAM_MB`` cycled so it cannot
  sit in cache). numpy's copy bandwidth overstates it: a GEMV reads only, in the dtype's kernel.
- ``kernel_gbs`` and ``kernel_call_us``: the variant's own linear kernel (whatever path its
  backend loaded: dense, int8/int4 packed, dequantize-then-matmul), timed on each linear of its
  first decoder layer with a one-token input, hot in cache; a least-squares line through
  (module bytes, time) gives the bytes per second the kernel itself can process and its fixed
  cost per call. Where this rate is below ``gemv_gbs`` the kernel, not memory, bounds the step.
- ``layer_overhead_us``: one decoder layer called alone on a one-token input, less its linears'
  byte-proportional time: the norms, rotary embedding, attention on one token, activation and
  residual adds, the linears' per-call costs, and the Python between them.

The decode step itself is modelled from these by the simulators' roofline
(``simulators.validate``); what the parts leave out (embedding, final norm, cache bookkeeping
per step) is the residual that validation estimates from the other profiles of the host.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

PROBE_VERSION = 1
STREAM_MB = 128  # ≥ 4x the last-level cache of the CPUs this runs on (32 MB on EPYC Zen 4)
HOT_CALLS = 25


def _median_s(fn: Callable[[], Any], calls: int) -> float:
    fn()  # first-call costs out of the timing
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def module_bytes(module: Any) -> int:
    """Bytes of a module's parameters and buffers (packed low-bit weights at their real size)."""
    seen, total = set(), 0
    for t in list(module.parameters()) + list(module.buffers()):
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    return total


def decoder_layers(model: Any) -> Any | None:
    """The decoder's layer list of a Hugging Face causal LM (``model.model.layers``), if any."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    return layers if layers is not None and len(layers) else None


def layer_linears(layer: Any) -> list[Any]:
    """Every linear-like submodule of a layer: anything with ``in_features``/``out_features``
    (torch's Linear and the quantized kernels' modules alike)."""
    return [
        m
        for name, m in layer.named_modules()
        if name and hasattr(m, "in_features") and hasattr(m, "out_features")
    ]


def gemv_stream_gbs(dtype: Any, *, megabytes: int = STREAM_MB, n: int = 2048) -> float:
    """Bytes per second a dense GEMV in ``dtype`` reads weights at, out of cache."""
    import torch

    size = torch.finfo(dtype).bits // 8
    count = max(2, megabytes * 2**20 // (n * n * size))
    weights = [torch.randn(n, n).to(dtype) for _ in range(count)]
    x = torch.randn(1, n).to(dtype)

    def sweep() -> None:
        for w in weights:
            torch.nn.functional.linear(x, w)

    return count * n * n * size / _median_s(sweep, 5) / 1e9


def linear_fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(bytes per second, seconds per call) of t = call + bytes / rate through the points; one
    size only (or a line with no positive slope): the rate is the largest bytes / time."""
    sizes = np.array([p[0] for p in points], dtype=float)
    times = np.array([p[1] for p in points], dtype=float)
    if len(set(sizes)) >= 2:
        slope, call = np.polyfit(sizes, times, 1)
        if slope > 0 and call >= 0:
            return float(1.0 / slope), float(call)
    return float(np.max(sizes / times)), 0.0


def probe(model: Any, dtype: Any) -> dict[str, Any] | None:
    """The host's kernel terms for ``model`` (loaded, on CPU); None for a model with no
    decoder layer list to probe."""
    import torch

    layers = decoder_layers(model)
    if layers is None:
        return None
    layer = layers[0]
    linears = layer_linears(layer)
    if not linears:
        return None
    with torch.inference_mode():
        points = [(module_bytes(m), _time_linear(m, dtype)) for m in linears]
        rate, call = linear_fit(points)
        layer_s = _time_layer(model, layer, dtype)
        gemv = gemv_stream_gbs(dtype)
    weights = sum(m.in_features * m.out_features for m in linears)
    byte_share = sum(p[0] for p in points) / rate
    return {
        "version": PROBE_VERSION,
        "dtype": str(dtype).replace("torch.", ""),
        "gemv_gbs": gemv,
        "kernel_gbs": rate / 1e9,
        "kernel_call_us": call * 1e6,
        "linear_bits": 8.0 * sum(p[0] for p in points) / weights,
        "layer_overhead_us": None if layer_s is None else float(max(layer_s - byte_share, 0) * 1e6),
        "how": f"microbenchmarks on this host: dense GEMV over {STREAM_MB} MB of synthetic "
        f"weights; the variant's {len(linears)} linears of layer 0 and the layer itself, "
        f"one token, hot, median of {HOT_CALLS} calls",
    }


def _time_linear(module: Any, dtype: Any) -> float:
    import torch

    x = torch.randn(1, 1, module.in_features).to(dtype)
    return _median_s(lambda: module(x), HOT_CALLS)


def _time_layer(model: Any, layer: Any, dtype: Any) -> float | None:
    """One decoder layer on a one-token input, or None where the layer cannot be called alone
    (an architecture whose layer needs more than hidden states and rotary embeddings)."""
    import torch

    hidden = torch.randn(1, 1, model.config.hidden_size).to(dtype)
    position = torch.tensor([[1]])
    rotary = getattr(getattr(model, "model", None), "rotary_emb", None)
    kwargs: dict[str, Any] = {"position_ids": position}
    try:
        if rotary is not None:
            kwargs["position_embeddings"] = rotary(hidden, position)
        return _median_s(lambda: layer(hidden, **kwargs), HOT_CALLS)
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return None
