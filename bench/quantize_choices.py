"""Quantization choices side by side: seconds and relative logits error per (method, bits) for
each backend and arithmetic dtype, on the embedded model, on this machine.

The default backend of each (method, bits) and the dtype it quantizes in are picked from this
table: the fastest choice whose logits error the quality test accepts (not worse than the
reference choice's by more than `--tolerance`, relative). Every case quantizes the same dense
model on the same calibration windows, one after another in one process, into a temporary
folder (nothing is cached or stored), then runs the logits probe of
`codesign.measurements.quality` in float32 against the dense model.

    python bench/quantize_choices.py [--cases gptq4:gptqmodel:bfloat16,gptq4:gptqmodel:float32]

A case is METHOD BITS : BACKEND : DTYPE [: bN] (dtype "default" leaves it to the backend; bN
sends the calibration windows N per forward pass, default all at once; the first case of each
METHOD BITS is the reference its ratios are against).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from pathlib import Path

DEFAULT_CASES = (
    "gptq4:gptqmodel:bfloat16,gptq4:gptqmodel:float32,"
    "awq4:gptqmodel:bfloat16,awq4:llmcompressor:float32"
)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = Path("/proc/cpuinfo").read_text()
                bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
                return f"{line.split(':', 1)[1].strip()} ({'with' if bf16 else 'no'} native BF16)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _case(text: str) -> tuple[str, int, str, str | None, int | None]:
    m = re.fullmatch(r"([a-z]+)(\d+):(\w+):(\w+)(?::b(\d+))?", text.strip())
    if not m:
        raise SystemExit(f"bad case {text!r}: expected e.g. gptq4:gptqmodel:float32[:b1]")
    dtype = None if m[4] == "default" else m[4]
    return m[1], int(m[2]), m[3], dtype, int(m[5]) if m[5] else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--cases", default=DEFAULT_CASES)
    p.add_argument("--tolerance", type=float, default=0.10, help="relative logits-error slack")
    args = p.parse_args()
    cases = [_case(c) for c in args.cases.split(",")]

    import torch

    from codesign.measurements import quality
    from codesign.measurements.quantize.backends import QUANTIZERS
    from codesign.measurements.quantize.backends.base import QuantRequest
    from codesign.measurements.quantize.backends.dense import load_tokenizer
    from codesign.measurements.quantize.calibration_text import CalibrationSpec
    from codesign.measurements.quantize.dequantize import to_float32_linears
    from codesign.measurements.quantize.ensure import _calibration_ids
    from codesign.measurements.quantize.models import resolve_model
    from codesign.measurements.quantize.recipes import AUTO_GROUP, resolve_group_size

    model = resolve_model(args.model)
    group, _ = resolve_group_size(AUTO_GROUP, model.config)
    ids = _calibration_ids(model, CalibrationSpec())
    tok = load_tokenizer(Path(model.path))
    probe = quality.probe_ids(tok)
    dense = QUANTIZERS.get("dense").load(Path(model.path), "cpu")
    reference = quality.logits(dense.model, probe)
    del dense
    print(f"{_cpu()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"model {args.model}, group size {group}, calibration {len(ids)} × {len(ids[0])} tokens")
    print(f"{'case':44} {'seconds':>8} {'ratio':>6} {'logits error':>13}")
    first: dict[tuple[str, int], tuple[float, float]] = {}
    rows = []
    for method, bits, backend_name, dtype, batch in cases:
        backend = QUANTIZERS.get(backend_name)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "q"
            out.mkdir()
            request = QuantRequest(
                method, bits, group, Path(model.path), out, ids, "cpu", dtype, batch
            )
            start = time.perf_counter()
            try:
                backend.quantize(request)
            except Exception as exc:  # a choice the library refuses is a row, not the end
                print(f"{method}-{bits} {backend_name} {dtype}: refused: {exc}", flush=True)
                continue
            seconds = time.perf_counter() - start
            loaded = backend.load(out, "cpu")
            if loaded.dtype != "float32":
                to_float32_linears(loaded.model, getattr(torch, loaded.dtype))
            error = quality.relative_error(reference, quality.logits(loaded.model, probe))
        ref = first.setdefault((method, bits), (seconds, error))
        name = f"{method}-{bits} {backend_name} {dtype or 'default'} batch {request.batch}"
        ok = error <= ref[1] * (1 + args.tolerance)
        rows.append((name, seconds, ref[0] / seconds, error, ok))
        print(f"{name:44} {seconds:8.1f} {ref[0] / seconds:5.2f}x {error:13.4f}", flush=True)
    print("ratio: the first case of the same method and bits over this one (> 1: faster)")
    for (method, bits), _ in first.items():
        fits = [r for r in rows if r[0].startswith(f"{method}-{bits} ") and r[4]]
        best = max(fits, key=lambda r: r[2])
        print(
            f"{method}-{bits}: fastest accepted choice: {best[0]} ({best[2]:.2f}x the reference, "
            f"logits error {best[3]:.4f}; accepted: within {args.tolerance:.0%} of the reference)"
        )


if __name__ == "__main__":
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(os.cpu_count() or 1))
    main()
