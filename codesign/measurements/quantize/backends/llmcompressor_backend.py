"""GPTQ and AWQ through llm-compressor (compressed-tensors checkpoints, vLLM's format).

Reloaded with transformers, its checkpoints decompress to dense Linear layers: profiles of
these variants say "dequantized", never a real low-bit kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

from codesign.errors import CodesignError
from codesign.measurements.quantize.backends.base import QUANTIZERS, LoadedModel, QuantRequest
from codesign.measurements.quantize.backends.dense import float_dtype, load_tokenizer
from codesign.measurements.quantize.backends.kernels import describe_kernels


def _allow_cpu_calibration() -> None:
    """llm-compressor pins cached activations for a GPU copy; on a CPU-only torch that fails
    ("Cannot access accelerator device"), and pinning buys nothing there."""
    import torch
    from llmcompressor.pipelines import cache

    if not torch.cuda.is_available():
        cache.IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None


class LLMCompressorBackend:
    name = "llmcompressor"

    def version(self) -> str:
        from importlib.metadata import version

        return f"llmcompressor {version('llmcompressor')}"

    def quantize_dtype(self, method: str, device: str) -> str | None:
        return None  # float32 always (the model is loaded so)

    def supports(self, method: str, bits: int) -> bool:
        # not 2 bits: llm-compressor 0.14 accepts the recipe, then fails mid-run (issue 35:
        # "Level 'METRIC' does not exist"); GPTQ at 2 bits runs through GPTQModel
        return method in ("gptq", "awq") and bits in (3, 4, 8)

    def _recipe(self, method: str, bits: int, group_size: int | None):
        from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
        from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier
        from llmcompressor.modifiers.transform.awq import AWQModifier

        strategy = "group" if group_size else "channel"
        # GPTQ checkpoints are conventionally symmetric, AWQ asymmetric (zero points).
        weights = QuantizationArgs(
            num_bits=bits,
            type="int",
            symmetric=method == "gptq",
            strategy=strategy,
            group_size=group_size,
        )
        groups = {"group_0": QuantizationScheme(targets=["Linear"], weights=weights)}
        if method == "gptq":
            return [GPTQModifier(config_groups=groups, ignore=["lm_head"])]
        return [AWQModifier(), QuantizationModifier(config_groups=groups, ignore=["lm_head"])]

    def quantize(self, request: QuantRequest) -> None:
        import torch
        from datasets import Dataset
        from llmcompressor import oneshot
        from transformers import AutoModelForCausalLM

        _allow_cpu_calibration()
        if not os.environ.get("CODESIGN_VERBOSE"):
            # its loguru lines ("No accelerator available! Compressing model on CPU", per
            # layer) say nothing a user can act on; CODESIGN_VERBOSE=1 keeps them
            from loguru import logger

            logger.disable("llmcompressor")
        ids = request.token_ids
        data = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids]})
        model = AutoModelForCausalLM.from_pretrained(request.dense_dir, dtype=torch.float32)
        tokenizer = load_tokenizer(request.dense_dir)
        try:
            oneshot(
                model=model,
                tokenizer=tokenizer,
                dataset=data,
                recipe=self._recipe(request.method, request.bits, request.group_size),
                num_calibration_samples=len(ids),
                max_seq_length=max(len(x) for x in ids),
                batch_size=request.batch,
                pipeline="sequential",
            )
        except ValueError as exc:
            raise CodesignError(f"llm-compressor refused: {str(exc).splitlines()[0]}") from None
        model.save_pretrained(request.out_dir, save_compressed=True)
        tokenizer.save_pretrained(request.out_dir)

    def load(self, path: Path, device: str) -> LoadedModel:
        from transformers import AutoModelForCausalLM

        dtype = float_dtype(device)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
        kernel, _ = describe_kernels(model)
        kernel = f"{kernel}, decompressed from compressed-tensors at load"
        return LoadedModel(model, load_tokenizer(path), kernel, False, str(dtype).split(".")[-1])


QUANTIZERS.add("llmcompressor", LLMCompressorBackend())
