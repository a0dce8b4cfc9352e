"""The same `evaluate` with 1, 2 and 4 worker processes on this machine, side by side.

Each run starts from an empty store (SQLite in a temporary folder, or a fresh database on the
PostgreSQL server of `--postgres`) and reads variants quantized once beforehand, so only the
evaluation is timed. Printed per worker count: wall seconds, speed-up over one process,
units claimed more than once (a lost lease: 0 expected on a healthy machine), items stored
twice (the store's unique keys make this 0 by construction; counted anyway) and items missing
against the one-process run.

    python bench/distributed_evaluate.py [--model smollm2-135m] [--workers 1,2,4] [--limit 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--method", default="gptq")
    p.add_argument("--bits", default="4,8")
    p.add_argument("--suites", default="adv_robustness,ethics,fairness,ood")
    p.add_argument("--limit", type=int, default=2)
    p.add_argument("--max-prompt-tokens", type=int, default=2048, help="as the main job")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--postgres", default=None, help="server URL; each run gets a new database")
    args = p.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    from sqlalchemy import func, select

    from codesign.store import PredictionRow, Store, WorkUnitRow
    from codesign.testing.postgres import fresh_database

    common = ["--model", args.model, "--method", args.method, "--bits", args.bits]
    cmd = [sys.executable, "-m", "codesign.measurements"]
    tmp = Path(tempfile.mkdtemp(prefix="codesign-bench-"))
    warm = f"sqlite:///{tmp / 'warm.db'}"
    subprocess.run([*cmd, "quantize", *common, "--store", warm], check=True, capture_output=True)
    print(f"{_cpu()}, {os.cpu_count()} cores; model {args.model}, variants dense + "
          f"{args.method} {args.bits}, suites {args.suites}, --limit {args.limit}, "
          f"--max-prompt-tokens {args.max_prompt_tokens}")  # fmt: skip
    print(f"{'workers':>7} {'seconds':>8} {'speed-up':>8} {'units retaken':>13} "
          f"{'stored twice':>12} {'missing':>7}")  # fmt: skip
    base_seconds, base_items = None, None
    for n in counts:
        url = (
            fresh_database(args.postgres, "codesign_bench")
            if args.postgres
            else f"sqlite:///{tmp / f'{n}.db'}"
        )
        run = [*cmd, "evaluate", *common, "--suites", args.suites, "--limit", str(args.limit)]
        run += ["--max-prompt-tokens", str(args.max_prompt_tokens)]
        start = time.perf_counter()
        done = subprocess.run(
            [*run, "--workers", str(n), "--store", url], capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{n:>7} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        store = Store(url)
        with store.session() as s:
            retaken = s.scalar(select(func.count()).where(WorkUnitRow.attempts > 1))
            items = s.execute(
                select(PredictionRow.variant_id, PredictionRow.suite, PredictionRow.item_id)
            ).all()
        twice = len(items) - len(set(items))
        base_seconds = base_seconds or seconds
        base_items = base_items if base_items is not None else set(items)
        missing = len(base_items - set(items))
        print(f"{n:>7} {seconds:8.1f} {base_seconds / seconds:7.2f}x {retaken:>13} "
              f"{twice:>12} {missing:>7}", flush=True)  # fmt: skip
    print("speed-up: the first worker count's seconds over this one's (> 1: faster)")


if __name__ == "__main__":
    main()
