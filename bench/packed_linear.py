"""Benchmark: a decode step's linear layers through oneDNN's packed weights
(``codesign.measurements.evaluate.cpu_linear``) against torch's ``F.linear`` (MKL sgemm).

For every row count from 1 to ``--max-rows``, the embedded model's float32 ``nn.Linear``
layers (all of them, the LM head included, as one decode step runs them) are applied to one
random activation row block each, alternately through both paths, ``--repeats`` times; printed
per row count: the median milliseconds of each, the ratio, which path ``packed_linears`` takes
at that count, and the largest difference between the two outputs relative to the output's
scale (float rounding). PASS when, at every count where codesign takes the packed path, it is
not slower than sgemm beyond this machine's noise (``NOISE``).

Run: ``python bench/packed_linear.py [--max-rows 16] [--repeats 7] [--threads N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

NOISE = 0.03


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--max-rows", type=int, default=16, help="largest row count timed")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per path and count")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    args = parser.parse_args()
    if args.max_rows < 1 or args.repeats < 1:
        parser.error("--max-rows and --repeats must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    import torch
    import torch.nn.functional as F
    from common import load_dense

    from codesign.measurements.evaluate import cpu_linear
    from codesign.measurements.profiling import device_name

    if args.threads:
        torch.set_num_threads(args.threads)
    if not cpu_linear.available():
        print("this torch build has no oneDNN packed linear: nothing to compare", file=sys.stderr)
        return 2
    resolved, loaded = load_dense(args.model, "cpu")
    layers = cpu_linear._eligible(loaded.model)
    if not layers:
        print(f"{resolved.name} has no float32 CPU linear layers", file=sys.stderr)
        return 2
    packed = [cpu_linear._pack(m) for m in layers]
    mb = sum(m.weight.numel() * m.weight.element_size() for m in layers) / 2**20
    print(f"model:   {resolved.name}: {len(layers)} linear layers, {mb:.0f} MiB of float32 weights")
    print(f"device:  {device_name('cpu')}, torch {torch.__version__}")
    print(f"{'rows':>4} {'sgemm ms':>9} {'packed ms':>10} {'ratio':>6}  codesign  max rel diff")
    gen = torch.Generator().manual_seed(0)
    ok = True
    with torch.inference_mode():
        for rows in range(1, args.max_rows + 1):
            xs = {
                n: torch.randn(rows, n, generator=gen) for n in {m.weight.shape[1] for m in layers}
            }

            def plain(xs=xs):
                return [F.linear(xs[m.weight.shape[1]], m.weight, m.bias) for m in layers]

            def fast(xs=xs):
                return [
                    cpu_linear.packed_matmul(xs[m.weight.shape[1]], p, m.bias)
                    for m, p in zip(layers, packed, strict=True)
                ]

            diff = max(
                float((a - b).abs().max() / a.abs().max().clamp(min=1e-30))
                for a, b in zip(plain(), fast(), strict=True)
            )
            times: dict[str, list[float]] = {"plain": [], "fast": []}
            for _ in range(args.repeats):  # alternate: background load hits both alike
                for name, fn in (("plain", plain), ("fast", fast)):
                    start = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - start)
            a, b = (1e3 * statistics.median(times[k]) for k in ("plain", "fast"))
            used = cpu_linear.packs(rows)
            if used and a / b < 1 - NOISE:
                ok = False
            print(
                f"{rows:4d} {a:9.1f} {b:10.1f} {a / b:5.2f}x  "
                f"{'packed' if used else 'sgemm':8}  {diff:.1e}"
            )
    print(
        f"{'PASS' if ok else 'FAIL'}: packed not slower than sgemm (beyond {NOISE:.0%}) at every "
        f"row count codesign packs ({cpu_linear.MIN_ROWS}-{cpu_linear.MAX_ROWS}); "
        f"median of {args.repeats}, wall clock"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
