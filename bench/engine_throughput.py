"""Benchmark: the same evaluate prompts through the local engine and through an
OpenAI-compatible server (the openai engine), on the same dense model.

Each chosen suite's seeded sample (``--limit`` items per setting, as ``evaluate`` draws it) is
rendered once by codesign and sent to both engines through the engine interface, as
``evaluate`` sends it: the local engine runs it in this process (batched, shared prefixes
prefilled once); the openai engine sends one ``/v1/completions`` request per prompt,
``--concurrency`` in flight. Without ``--base-url`` the script starts ``transformers serve``
on loopback (CPU, float32) for the model's folder and stops it after; with it, the server
given is used (a vLLM server on a GPU, say) and must serve the model under ``--served-name``
(default: the folder).

Printed per suite: prompts, identical outputs (text), the same parsed label, items/s of each
engine (one timed pass each, alternating order per suite) and the ratio served / local. No
target on a CPU: the point is the honest number, and the identical-output count.

Run: ``python bench/engine_throughput.py [--suites ethics,adv_robustness,mmlu_gen] [--limit 4]
[--concurrency 8]``; against vLLM on a GPU host: ``vllm serve FOLDER --dtype float32`` there,
then ``python bench/engine_throughput.py --base-url http://GPU:8000/v1`` here (FOLDER as
``python -m codesign.measurements list`` shows the dense variant's path).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import pick_suites  # noqa: E402

DEFAULT_SUITES = "ethics,adv_robustness,mmlu_gen"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--suites", default=DEFAULT_SUITES)
    p.add_argument("--limit", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--base-url", help="a running server (default: start transformers serve)")
    p.add_argument("--served-name", help="the model's name there (default: its folder)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    return p.parse_args()


def _run(engine, suite, items, prompts) -> tuple[list, float]:
    """Every prompt through ``engine`` as evaluate sends it; outputs in item order, seconds."""
    from codesign.measurements.evaluate.runner import _groups

    out: list = [None] * len(prompts)

    def keep(indices, results):
        for i, r in zip(indices, results, strict=True):
            out[i] = r

    start = time.perf_counter()
    engine.generate_until(prompts, suite.max_new_tokens, keep, groups=_groups(suite, items))
    return out, time.perf_counter() - start


def main() -> int:
    args = parse_args()
    import torch

    from codesign.measurements.evaluate.engines.base import Prompt
    from codesign.measurements.evaluate.engines.local import LocalEngine
    from codesign.measurements.evaluate.engines.openai_server import OpenAIEngine, Served, _client
    from codesign.measurements.evaluate.runner import render_prompts
    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.quantize.models import resolve_model
    from codesign.testing.serving import TransformersServe

    generative = [n for n in SUITES if SUITES.get(n).kind == "generate"]
    names = pick_suites(args.suites, generative, "generative suite")
    if names is None:
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = str(Path(resolve_model(args.model).path).resolve())
    variant = SimpleNamespace(
        backend="dense", path=folder, key="bench", method="dense", bits=16, seed=0
    )
    local = LocalEngine(variant, "cpu")
    server = None if args.base_url else TransformersServe().start()
    url = args.base_url or server.url
    try:
        name = args.served_name or folder
        client = _client(url, os.environ.get("OPENAI_API_KEY") or "EMPTY", 600)
        served = OpenAIEngine(variant, Served(url, name), client, "completions", args.concurrency)
        print(
            f"model {args.model} ({folder}); {platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} torch threads; server {url}"
            f"{' (transformers serve, cpu float32, started here)' if server else ''}"
        )
        local.loaded  # noqa: B018 - both engines load their model before any timing
        served.generate_until([Prompt("Hello", True)], 1, lambda *_: None)
        print(f"local: {local.runtime}; served: {served.runtime}")
        _report(args, names, SUITES, local, served, render_prompts)
    finally:
        if server is not None:
            server.stop()
    return 0


def _report(args, names, suites, local, served, render_prompts) -> None:
    rows, totals = [], [0, 0, 0, 0.0, 0.0]
    for n, name in enumerate(names):
        suite = suites.get(name)
        items = suite.load(args.limit, 0).items
        prompts = render_prompts(local.tokenizer, suite, items)
        order = [(local, "local"), (served, "served")]
        timed = {}
        for engine, tag in order if n % 2 == 0 else order[::-1]:
            timed[tag] = _run(engine, suite, items, prompts)
        (a, ta), (b, tb) = timed["local"], timed["served"]
        same = sum(x.raw == y.raw for x, y in zip(a, b, strict=True))
        labels = sum(
            suite.parse(it, x.raw) == suite.parse(it, y.raw)
            for it, x, y in zip(items, a, b, strict=True)
        )
        rows.append((name, len(items), same, labels, len(items) / ta, len(items) / tb))
        for i, v in enumerate((len(items), same, labels, ta, tb)):
            totals[i] += v
    print(
        f"{'suite':16} {'prompts':>7} {'identical':>9} {'same label':>10} "
        f"{'local it/s':>10} {'served it/s':>11} {'served/local':>12}"
    )
    for name, k, same, labels, ra, rb in rows:
        print(f"{name:16} {k:7d} {same:9d} {labels:10d} {ra:10.2f} {rb:11.2f} {rb / ra:12.2f}")
    k, same, labels, ta, tb = totals
    print(f"{'all':16} {k:7d} {same:9d} {labels:10d} {k / ta:10.2f} {k / tb:11.2f} {ta / tb:12.2f}")


if __name__ == "__main__":
    sys.exit(main())
