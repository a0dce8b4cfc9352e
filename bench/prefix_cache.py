"""Benchmark: generation with the shared prompt prefix reused through the KV cache, against the
plain batched run, on the same prompts.

For each suite, the prompts ``evaluate`` would send (the suite's seeded sample of ``--limit``
items, rendered with the model's chat template) go through
``codesign.measurements.evaluate.generation.generate`` twice per repeat, alternating: once
with prefix reuse (the default, ``min_shared_prefix=GENERATE_MIN_SHARED``, 16 tokens) and
once without
(``min_shared_prefix=None``: plain left-padded batches into transformers' ``generate``, the
peer). Same model object, batches, budget and
``max_new_tokens``.

Printed per suite: prompt tokens, the share of prompt tokens that prefix reuse skips, how many
generations are identical between the two runs (greedy decoding; float rounding differs, so a
near-tie may flip a token), the median wall time of each and the ratio. The target: reuse is
not slower on any suite (ratio >= 1) and at least 1.1x faster overall.

Run: ``python bench/prefix_cache.py [--model smollm2-135m] [--suites all] [--limit 40]
[--repeats 3] [--threads N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

TARGET_OVERALL = 1.1
MAX_BATCH = 32  # generate's default, passed explicitly so the token count below matches it


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--suites", default="all", help="comma list of generative suites")
    parser.add_argument("--limit", type=int, default=40, help="items per suite, as in evaluate")
    parser.add_argument("--seed", type=int, default=0, help="item sampling seed")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode")
    parser.add_argument("--max-batch-tokens", type=int, default=8192)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    args = parser.parse_args()
    if args.repeats < 1 or args.limit < 1:
        parser.error("--limit and --repeats must be at least 1")
    return args


def skipped_share(token_ids, max_batch_tokens: int) -> float:
    """Fraction of prompt tokens that prefix reuse does not prefill row by row."""
    from codesign.measurements.evaluate.generation import (
        GENERATE_MIN_SHARED,
        length_batches,
        shared_prefix_length,
    )

    skipped = 0
    for batch in length_batches([len(t) for t in token_ids], max_batch_tokens, MAX_BATCH):
        rows = [token_ids[i] for i in batch]
        shared = shared_prefix_length(rows) if len(rows) > 1 else 0
        if shared >= GENERATE_MIN_SHARED:
            skipped += shared * (len(rows) - 1)
    return skipped / sum(len(t) for t in token_ids)


def main() -> int:
    args = parse_args()
    import torch
    import transformers
    from common import load_dense, pick_suites

    from codesign.measurements.evaluate.generation import (
        GENERATE_MIN_SHARED,
        encode_chats,
        generate,
    )
    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.profiling import device_name

    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    generative = [n for n in SUITES.names() if SUITES.get(n).kind == "generate"]
    names = pick_suites(args.suites, generative, "generative suite")
    if names is None:
        return 2
    resolved, loaded = load_dense(args.model, args.device)
    print(f"model:   {resolved.name}: {resolved.baseline}")
    print(
        f"device:  {device_name(args.device)}, dtype {loaded.dtype}, torch threads "
        f"{torch.get_num_threads()}; budget {args.max_batch_tokens} padded tokens per batch"
    )
    print(
        f"{'suite':16}{'prompts':>8}{'tokens':>8}{'skipped':>9}{'same':>9}"
        f"{'plain s':>9}{'reuse s':>9}{'ratio':>7}"
    )
    total_plain = total_reuse = 0.0
    worst = float("inf")
    for name in names:
        suite = SUITES.get(name)
        data = suite.load(limit=args.limit, seed=args.seed)
        ids = encode_chats(loaded.tokenizer, [suite.messages(it) for it in data.items])

        def run(min_shared, ids=ids, suite=suite):
            start = time.perf_counter()
            out = generate(
                loaded.model,
                loaded.tokenizer,
                ids,
                suite.max_new_tokens,
                device=args.device,
                max_batch_tokens=args.max_batch_tokens,
                max_batch=MAX_BATCH,
                min_shared_prefix=min_shared,
            )
            return time.perf_counter() - start, [g.raw for g in out]

        _, plain_text = run(None)  # warm-up of both; their outputs are compared
        _, reuse_text = run(GENERATE_MIN_SHARED)
        plain_t, reuse_t = [], []
        for _ in range(args.repeats):
            plain_t.append(run(None)[0])
            reuse_t.append(run(GENERATE_MIN_SHARED)[0])
        plain, reuse = statistics.median(plain_t), statistics.median(reuse_t)
        same = sum(a == b for a, b in zip(plain_text, reuse_text, strict=True))
        total_plain += plain
        total_reuse += reuse
        worst = min(worst, plain / reuse)
        share = skipped_share(ids, args.max_batch_tokens)
        print(
            f"{name:16}{len(ids):8d}{sum(map(len, ids)):8d}{share:9.0%}"
            f"{f'{same}/{len(ids)}':>9}{plain:9.2f}{reuse:9.2f}{plain / reuse:6.2f}x"
        )
    overall = total_plain / total_reuse
    ok = worst >= 1.0 and overall >= TARGET_OVERALL
    print(
        f"overall: {overall:.2f}x (sum of medians of {args.repeats} runs, wall clock); "
        f"slowest suite {worst:.2f}x"
    )
    print(f"{'PASS' if ok else 'FAIL'}: target >= {TARGET_OVERALL}x overall and no suite slower")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
