"""GPTQ and AWQ through GPTQModel, which also loads real low-bit kernels (int4/int8 on CPU)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from functools import cache
from pathlib import Path

from codesign.measurements.quantize.backends.awq_clip import batched_clip_search_on_cpu
from codesign.measurements.quantize.backends.base import QUANTIZERS, LoadedModel, QuantRequest
from codesign.measurements.quantize.backends.dense import load_tokenizer
from codesign.measurements.quantize.backends.kernels import describe_kernels
from codesign.paths import cache_dir


def _quiet():
    """GPTQModel prints banners and per-layer tables; keep the user's terminal for our progress."""
    if os.environ.get("CODESIGN_VERBOSE"):
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())


@cache
def _import_quietly() -> None:
    """Import GPTQModel without its start-up banner; its warnings still show afterwards
    (``CODESIGN_VERBOSE=1`` keeps everything)."""
    if os.environ.get("CODESIGN_VERBOSE"):
        import gptqmodel  # noqa: F401

        return
    from logbar import LogBar

    shared = LogBar.shared()
    shared.setLevel(logging.ERROR)
    try:
        import gptqmodel  # noqa: F401
    finally:
        shared.setLevel(logging.WARNING)


class GPTQModelBackend:
    name = "gptqmodel"

    def version(self) -> str:
        from importlib.metadata import version

        return f"gptqmodel {version('gptqmodel')}"

    def quantize_dtype(self, method: str, device: str) -> str | None:
        # GPTQModel quantizes in bfloat16 on a CPU by default; float32 took 44 s where
        # bfloat16 took 81 s for GPTQ-4 on a CPU without native BF16 (AMD EPYC; logits error
        # 0.148 vs 0.144, bench/quantize_choices.py), and 41 vs 44 s on an Intel Xeon with it
        # (NOTES.md). Its AWQ kernels refuse float32, so AWQ keeps the library's default.
        return "float32" if device.startswith("cpu") and method == "gptq" else None

    def supports(self, method: str, bits: int) -> bool:
        return (method, bits) in {("gptq", b) for b in (2, 3, 4, 8)} | {("awq", 3), ("awq", 4)}

    def _config(self, method: str, bits: int, group_size: int | None):
        _import_quietly()
        from gptqmodel import QuantizeConfig
        from gptqmodel.quantization.config import FORMAT, METHOD

        common = {"bits": bits, "group_size": group_size or -1, "offload_to_disk": False}
        if method == "awq":
            return QuantizeConfig(**common, method=METHOD.AWQ, format=FORMAT.GEMM)
        return QuantizeConfig(**common, desc_act=False, sym=True)

    def quantize(self, request: QuantRequest) -> None:
        os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(os.cpu_count() or 1))
        _import_quietly()
        import torch
        from gptqmodel import BACKEND, GPTQModel
        from gptqmodel.looper import loop_processor

        # GPTQModel writes per-run logs to ./logs; keep the user's working directory clean.
        loop_processor._PROJECT_LOG_DIR = cache_dir() / "logs" / "gptqmodel"
        config = self._config(request.method, request.bits, request.group_size)
        backend = BACKEND.AUTO
        if request.device == "cpu":
            # The CPU needs torch backends to quantize (AWQ_TORCH per NOTES.md); GPTQ_TORCH
            # also handles layer widths that are not a multiple of the group size.
            backend = BACKEND.AWQ_TORCH if request.method == "awq" else BACKEND.GPTQ_TORCH
        samples = [
            {"input_ids": ids, "attention_mask": [1] * len(ids)} for ids in request.token_ids
        ]
        # AWQ's clip search as batched matrix products on CPU (awq_clip.py: same choice, ~5x
        # faster on this machine, bench/awq_clip.py); other devices keep GPTQModel's own
        faster = (
            batched_clip_search_on_cpu() if request.method == "awq" else contextlib.nullcontext()
        )
        dtype = {"dtype": getattr(torch, request.dtype)} if request.dtype else {}
        with _quiet(), faster:
            model = GPTQModel.load(str(request.dense_dir), config, device=request.device, **dtype)
            model.quantize(samples, batch_size=request.batch, backend=backend)
            model.save(str(request.out_dir))
        load_tokenizer(request.dense_dir).save_pretrained(request.out_dir)

    def _load_backend(self, path: Path, device: str):
        import json

        _import_quietly()
        from gptqmodel import BACKEND

        if device != "cpu":
            return BACKEND.AUTO
        cfg = json.loads((path / "config.json").read_text()).get("quantization_config", {})
        bits, method = cfg.get("bits"), cfg.get("quant_method", "gptq")
        if bits == 4:
            return BACKEND.AUTO  # picks the ATen int4pack kernel
        if bits == 8 and method == "gptq":
            return BACKEND.GPTQ_TORCH_INT8  # ATen _weight_int8pack_mm: a real int8 kernel
        return BACKEND.AWQ_TORCH if method == "awq" else BACKEND.GPTQ_TORCH

    def load(self, path: Path, device: str) -> LoadedModel:
        _import_quietly()
        from gptqmodel import GPTQModel

        with _quiet():
            wrapped = GPTQModel.load(
                str(path), device=device, backend=self._load_backend(path, device)
            )
        model = wrapped.model.eval()
        kernel, real = describe_kernels(model)
        dtype = str(next(model.parameters()).dtype).split(".")[-1]
        return LoadedModel(model, load_tokenizer(path), kernel, real, dtype)


QUANTIZERS.add("gptqmodel", GPTQModelBackend())
