"""The dense baseline as a variant (16 bits): nothing to quantize, loaded as float weights."""

from __future__ import annotations

from pathlib import Path

from codesign.measurements.quantize.backends.base import QUANTIZERS, LoadedModel, QuantRequest
from codesign.measurements.quantize.backends.kernels import describe_kernels


def float_dtype(device: str):
    """float32 on CPU (fastest there, and what GGUF dequantizes to); float16 on a GPU."""
    import torch

    return torch.float32 if device == "cpu" else torch.float16


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class DenseBackend:
    name = "dense"

    def version(self) -> str:
        import transformers

        return f"transformers {transformers.__version__}"

    def quantize_dtype(self, method: str, device: str) -> str | None:
        return None  # nothing is quantized

    def supports(self, method: str, bits: int) -> bool:
        return method == "dense" and bits == 16

    def quantize(self, request: QuantRequest) -> None:
        raise NotImplementedError("the dense variant is the model directory itself")

    def load(self, path: Path, device: str) -> LoadedModel:
        from transformers import AutoModelForCausalLM

        dtype = float_dtype(device)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
        kernel, real = describe_kernels(model)
        return LoadedModel(model, load_tokenizer(path), kernel, real, str(dtype).split(".")[-1])


QUANTIZERS.add("dense", DenseBackend())
