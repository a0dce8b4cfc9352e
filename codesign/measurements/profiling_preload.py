"""Imported once by the profiling fork server (see profiling.py), so that every profile's
process starts with these libraries already loaded: torch, transformers' causal-LM modelling
for the architectures the built-in models use, and the quantizer registry."""

import torch  # noqa: F401
import transformers  # noqa: F401
from transformers.models.llama import modeling_llama  # noqa: F401
from transformers.models.qwen2 import modeling_qwen2  # noqa: F401

from codesign.measurements.quantize import backends  # noqa: F401
