"""AWQ clip search: GPTQModel's broadcast product vs codesign's batched matrix product.

Runs both on the same weights and activations, side by side, at the embedded model's layer
shapes (SmolLM2-135M: 576 hidden, 1536 MLP; group 64; the 512 sampled tokens both keep), and
prints the ratio and whether they chose the same clip. Synthetic weights and activations
(seeded normal): the search's cost depends on shapes, not values.

    python bench/awq_clip.py [--repeats 3] [--bits 4] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from functools import partial
from types import SimpleNamespace

import torch
from gptqmodel.looper.awq_processor import AWQProcessor

from codesign.measurements.quantize.backends.awq_clip import compute_best_clip

SHAPES = {  # (out, in) of the clipped linears of one SmolLM2-135M layer (q/k are not clipped)
    "v_proj": (192, 576),
    "o_proj": (576, 576),
    "gate/up_proj": (1536, 576),
    "down_proj": (576, 1536),
}


def _processor(bits: int, group: int) -> SimpleNamespace:
    ns = SimpleNamespace(qcfg=SimpleNamespace(bits=bits, group_size=group, sym=False))
    ns._pseudo_quantize_tensor_into = partial(AWQProcessor._pseudo_quantize_tensor_into, ns)
    return ns


def _time(fn, repeats: int) -> tuple[float, torch.Tensor]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--group", type=int, default=64)
    p.add_argument("--tokens", type=int, default=1024, help="calibration tokens (8 × 128)")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    proc = _processor(args.bits, args.group)
    gen = torch.Generator().manual_seed(0)
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, {args.dtype}, {args.bits}-bit, group {args.group}, "
        f"{args.tokens} calibration tokens; median of {args.repeats}"
    )
    total_orig = total_new = 0.0
    for name, (rows, cols) in SHAPES.items():
        w = (torch.randn(rows, cols, generator=gen) * 0.02).to(dtype)
        x = torch.randn(args.tokens, cols, generator=gen).to(dtype)
        t_orig, c_orig = _time(partial(AWQProcessor._compute_best_clip, proc, w, x), args.repeats)
        t_new, c_new = _time(partial(compute_best_clip, proc, w, x), args.repeats)
        same = torch.isclose(c_new.float(), c_orig.float(), rtol=1e-3).float().mean().item()
        total_orig, total_new = total_orig + t_orig, total_new + t_new
        print(
            f"  {name:13s} [{rows}x{cols}]  gptqmodel {t_orig:7.3f} s  batched {t_new:7.3f} s"
            f"  {t_orig / t_new:5.1f}x  same clip for {same:.1%} of (row, group)"
        )
    print(
        f"one layer's clip search: {total_orig / total_new:.1f}x faster batched "
        "(same machine, same inputs, run side by side)"
    )


if __name__ == "__main__":
    main()
