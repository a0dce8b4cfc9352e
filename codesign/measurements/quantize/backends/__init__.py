"""Quantization backends behind one small interface, and which one serves each (method, bits).

A backend is a module that registers an object with ``supports``, ``quantize`` and ``load``.
Adding a backend is one new file and one registration here.
"""

from __future__ import annotations

from codesign.errors import CodesignError
from codesign.measurements.quantize.backends.base import quiet_library_logs

quiet_library_logs()  # before any backend imports its libraries

from codesign.measurements.quantize.backends import anyprec as _anyprec  # noqa: E402, F401  (registers)
from codesign.measurements.quantize.backends import dense as _dense  # noqa: E402, F401
from codesign.measurements.quantize.backends import gptqmodel_backend as _gptqmodel  # noqa: E402, F401
from codesign.measurements.quantize.backends import llmcompressor_backend as _llmcompressor  # noqa: E402, F401
from codesign.measurements.quantize.backends.base import QUANTIZERS, LoadedModel, Quantizer  # noqa: E402

METHODS = ("gptq", "awq", "anyprec")

# Which backend's output is right for each (method, bits), measured by the relative-logits
# error test (tests/measurements/quantize/test_ensure.py): gptqmodel 7.6.0's AWQ at 8 bits
# gives a larger error than its AWQ at 4 bits, so AWQ-8 comes from llmcompressor. gptqmodel is
# preferred elsewhere because it loads real low-bit kernels (int4 on CPU; Marlin/Machete/Triton
# on GPU).
DEFAULT_BACKEND: dict[tuple[str, int], str] = {
    ("gptq", 2): "gptqmodel",
    ("gptq", 3): "gptqmodel",
    ("gptq", 4): "gptqmodel",
    ("gptq", 8): "gptqmodel",
    ("awq", 3): "gptqmodel",
    ("awq", 4): "gptqmodel",
    ("awq", 8): "llmcompressor",
    ("dense", 16): "dense",
    # nested members: the top n bit-planes of one set upscaled from a GPTQ seed (nested.py)
    **{("anyprec", b): "anyprec" for b in range(2, 9)},
}


# On a CPU the choice among backends whose output passes that test is by measured time
# (bench/quantize_choices.py, 2-core AMD EPYC without native BF16, SmolLM2-135M): AWQ-4 took
# 76.5 s through llm-compressor (float32, logits error 0.139) and 594 s through GPTQModel, whose
# AWQ runs in bfloat16 only (its AWQ kernels refuse float32; error 0.191). On a GPU GPTQModel
# keeps AWQ-3/4 for its real kernels.
CPU_BACKEND: dict[tuple[str, int], str] = {
    ("awq", 3): "llmcompressor",
    ("awq", 4): "llmcompressor",
}


def backend_for(
    method: str, bits: int, override: str | None = None, device: str = "cpu"
) -> Quantizer:
    """The backend that quantizes ``method`` at ``bits`` on ``device`` (or the user's override,
    if it can)."""
    if method not in (*METHODS, "dense"):
        raise CodesignError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    default = DEFAULT_BACKEND.get((method, bits))
    if device.startswith("cpu"):
        default = CPU_BACKEND.get((method, bits), default)
    name = override or default
    if name is None:
        pairs = ", ".join(f"{m}-{b}" for m, b in DEFAULT_BACKEND if m != "dense")
        raise CodesignError(f"{method} at {bits} bits is not supported (supported: {pairs})")
    backend = QUANTIZERS.get(name)
    if not backend.supports(method, bits):
        raise CodesignError(f"backend {name!r} cannot quantize {method} at {bits} bits")
    return backend


__all__ = [
    "CPU_BACKEND",
    "DEFAULT_BACKEND",
    "METHODS",
    "QUANTIZERS",
    "LoadedModel",
    "Quantizer",
    "backend_for",
]
