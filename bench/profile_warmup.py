"""Benchmark: the profile's short warm-up against a full-length one, on stored variants.

`profile` runs an untimed warm-up before its timed runs. It used to be a whole run of the
workload (a 128-token prefill and every decode step); it is now a 16-token prefill and two
decode steps (``profiling.WARMUP_PROMPT_TOKENS``, ``WARMUP_DECODE_TOKENS``). For each variant
this script loads it once in this process and runs ``run_workload`` with each warm-up in
turn, ``--repeats`` times alternating, and prints the wall time of each call (warm-up
included, as the main job pays it), their ratio, and the timed prefill and decode medians each
reported, so that a reader sees whether the shorter warm-up changed what is measured.

Run: ``python bench/profile_warmup.py --store URL [--variants gptq-3,awq-4] [--repeats 2]``
(the store of a finished ``make run``: its variants are in the cache; the main job's workload:
128-token prefill, 16 decode steps, batch 1, one timed repeat).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, metavar="URL")
    p.add_argument("--variants", default="", help="method-bits list (default: every variant)")
    p.add_argument("--repeats", type=int, default=2, help="calls of each warm-up (default: 2)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    from codesign.measurements import profiling
    from codesign.measurements.quantize.backends import QUANTIZERS
    from codesign.store import Store

    workload = profiling.ProfileWorkload(128, 16, 1, warmup=1, repeats=1)
    short = (profiling.WARMUP_PROMPT_TOKENS, profiling.WARMUP_DECODE_TOKENS)
    full = (workload.prompt_len, workload.decode_tokens)
    wanted = {v.strip() for v in args.variants.split(",") if v.strip()}
    rows = []
    for variant, _ in Store(args.store, create=False).variants():
        name = f"{variant.method}-{variant.bits}"
        if wanted and name not in wanted:
            continue
        loaded = QUANTIZERS.get(variant.backend).load(Path(variant.path), "cpu")
        got: dict[str, list] = {"short": [], "full": []}
        for _ in range(args.repeats):
            for label, (prompt, steps) in (("short", short), ("full", full)):
                profiling.WARMUP_PROMPT_TOKENS, profiling.WARMUP_DECODE_TOKENS = prompt, steps
                start = time.perf_counter()
                res = profiling.run_workload(loaded.model, workload, "cpu")
                got[label].append((time.perf_counter() - start, res))
        profiling.WARMUP_PROMPT_TOKENS, profiling.WARMUP_DECODE_TOKENS = short
        med = {k: statistics.median(w for w, _ in v) for k, v in got.items()}
        pre = {k: statistics.median(r["prefill_ms"] for _, r in v) for k, v in got.items()}
        dec = {k: statistics.median(r["decode_ms_per_token"] for _, r in v) for k, v in got.items()}
        rows.append((name, loaded.kernel, med, pre, dec))
        print(
            f"{name:8s} {loaded.kernel[:34]:34s} wall full {med['full']:6.1f} s  short "
            f"{med['short']:6.1f} s  ({med['full'] / med['short']:.2f}x)   prefill ms full/short "
            f"{pre['full']:8.1f} / {pre['short']:8.1f}   decode ms/token "
            f"{dec['full']:7.1f} / {dec['short']:7.1f}",
            flush=True,
        )
        del loaded
    if not rows:
        print("no variant matched", file=sys.stderr)
        return 2
    total = {k: sum(r[2][k] for r in rows) for k in ("full", "short")}
    print(
        f"all: full warm-up {total['full']:.1f} s, short {total['short']:.1f} s "
        f"({total['full'] / total['short']:.2f}x); medians of {args.repeats} calls each, "
        f"alternating, one process, wall clock, measured on {profiling.device_name('cpu')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
