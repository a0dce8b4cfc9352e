"""Nested any-precision members (codesign.measurements.quantize.nested): the dense model with
every quantized linear layer's weights replaced by the member's dequantized codes."""

from __future__ import annotations

import json
from pathlib import Path

from codesign.measurements.quantize import nested
from codesign.measurements.quantize.backends.base import QUANTIZERS, LoadedModel, QuantRequest
from codesign.measurements.quantize.backends.dense import float_dtype, load_tokenizer


class AnyPrecisionBackend:
    name = "anyprec"

    def version(self) -> str:
        return f"codesign nested v{nested.VERSION} (seed: gptqmodel GPTQ)"

    def quantize_dtype(self, method: str, device: str) -> str | None:
        return None  # float32 always (nested.py)

    def supports(self, method: str, bits: int) -> bool:
        return method == "anyprec" and 2 <= bits <= 8

    def quantize(self, request: QuantRequest) -> None:
        raise NotImplementedError("a nested set is built from its seed by ensure_variant")

    def load(self, path: Path, device: str) -> LoadedModel:
        import torch
        from transformers import AutoModelForCausalLM

        bits = int(json.loads((path / nested.MEMBER_FILE).read_text())["bits"])
        set_dir = path.parent
        info = json.loads((set_dir / nested.SET_FILE).read_text())
        dense_dir = Path(info["dense_dir"])
        dtype = float_dtype(device)
        model = AutoModelForCausalLM.from_pretrained(dense_dir, dtype=torch.float32).eval()
        weights = nested.load_member_weights(set_dir, bits)
        with torch.no_grad():
            for prefix, weight in weights.items():
                model.get_submodule(prefix).weight.copy_(weight)
        model = model.to(device=device, dtype=dtype)
        kernel = (
            f"dequantized: top {bits} of {info['top_bits']} bit-planes of a nested set "
            f"(seed GPTQ-{info['seed_bits']}), {len(weights)} layers as {str(dtype)[6:]} weights"
        )
        return LoadedModel(model, load_tokenizer(dense_dir), kernel, False, str(dtype)[6:])


QUANTIZERS.add("anyprec", AnyPrecisionBackend())
