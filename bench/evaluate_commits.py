"""The main job's evaluate phase, this checkout against another commit, side by side.

For a change to how `evaluate` runs (work-unit order, batching) that no flag switches off: a git
worktree of ``--peer-ref`` is made in a temporary folder, and the same command (the evaluate
`make run` sends: seven variants of the embedded model, the four trust suites and MMLU at
``--limit`` items per setting, ``--workers`` processes) runs from each tree in turn,
``--repeats`` times alternating, each from an empty SQLite store; the variants are read from
the cache (quantize them first: `make run` once). Printed per run: wall seconds and how many
times a variant was loaded (distinct worker × variant pairs in the progress lines: each costs
5-20 s of loading on a CPU); then the medians and their ratio.

    python bench/evaluate_commits.py --peer-ref 9c6b95c [--repeats 2] [--limit 4]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADED = re.compile(r"\[worker (\d+)\] \[[0-9:]+\] now: (\S+) (?!\(cpu\))")


def run_once(tree: Path, args: argparse.Namespace) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp:
        argv = [sys.executable, "-m", "codesign.measurements", "evaluate"]
        argv += ["--model", args.model, "--method", "gptq,awq", "--bits", "3,4,8"]
        argv += ["--suites", "adv_robustness,fairness,ethics,ood,mmlu_ll"]
        argv += ["--limit", str(args.limit), "--max-prompt-tokens", "2048"]
        argv += ["--workers", str(args.workers), "--store", f"sqlite:///{tmp}/store.db"]
        start = time.perf_counter()
        out = subprocess.run(argv, cwd=tree, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"evaluate failed in {tree} (exit {out.returncode}):\n{out.stderr[-2000:]}")
    loads = {m.groups() for m in LOADED.finditer(out.stdout + out.stderr)}
    return seconds, len(loads)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer-ref", required=True, help="the commit to compare against")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--limit", type=int, default=4, help="items per setting (make run: 4)")
    p.add_argument("--workers", type=int, default=2, help="(make run: 2)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="codesign-peer-") as tmp:
        peer = Path(tmp) / "peer"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(peer), args.peer_ref],
            check=True,
        )
        try:
            got: dict[str, list[tuple[float, int]]] = {"this": [], args.peer_ref: []}
            for rep in range(args.repeats):
                for label, tree in (("this", ROOT), (args.peer_ref, peer)):
                    seconds, loads = run_once(tree, args)
                    got[label].append((seconds, loads))
                    print(f"run {rep + 1} {label:>10s}: {seconds:7.1f} s, {loads} variant loads")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(peer)])
    from codesign.measurements.profiling import device_name

    med = {k: statistics.median(s for s, _ in v) for k, v in got.items()}
    print(
        f"median: this {med['this']:.1f} s, {args.peer_ref} {med[args.peer_ref]:.1f} s -> "
        f"{med[args.peer_ref] / med['this']:.2f}x (wall clock, {args.workers} workers, "
        f"--limit {args.limit}, cached variants, run alternately, measured on "
        f"{device_name('cpu')})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
