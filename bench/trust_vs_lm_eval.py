"""Benchmark: the trust suites' generative prompts through codesign's evaluator and through
lm-evaluation-harness's ``generate_until``, on the same model and the same prompt text.

For each generative trust suite (the comptrust profile's settings: the seeded sample of
``--limit`` items per setting that ``evaluate`` sends, settings whose longest prompt exceeds
``--max-prompt-tokens`` left out as the main job leaves them out), the prompts are rendered
through the model's chat template once. codesign runs them the way ``evaluate`` does (the
suite's batch groups, token-budgeted length batches, shared prefixes prefilled once, greedy,
the suite's ``max_new_tokens``); lm-eval gets the same rendered text as ``generate_until``
requests of an ``HFLM`` wrapping the same model object (greedy, ``max_gen_toks`` = the same
``max_new_tokens``, no stop sequence but the end-of-sequence token, which lm-eval always adds
and codesign stops at). Neither side adds a BOS token; the script checks that both encode
every prompt to the same token ids before timing.

The lm-eval side is its model call alone (``HFLM.generate_until`` on ready ``Instance``s, no
task building, filters or metrics), so the ratio is, if anything, in lm-eval's favour. Both
timed passes include tokenization and parsing the reply into a label.

Printed per suite: prompts, prompt tokens, how many outputs are identical (text, stripped)
and how many parse to the same label, the median wall time of each tool and the ratio; then
overall. Target: identical outputs on every item, >= 1.5x items/s overall, no suite slower.

Run: ``python bench/trust_vs_lm_eval.py [--suites all] [--limit 4] [--repeats 1]
[--batch-size 32] [--threads N]`` (needs ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time

TARGET_OVERALL = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--suites", default="all", help="comma list of generative trust suites")
    parser.add_argument("--limit", type=int, default=4, help="items per suite setting")
    parser.add_argument("--seed", type=int, default=0, help="item sampling seed")
    parser.add_argument(
        "--max-prompt-tokens",
        type=int,
        default=2048,
        help="leave out settings with longer prompts (the main job's value)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per tool")
    parser.add_argument(
        "--warmup", type=int, default=1, choices=(0, 1), help="an untimed run of each tool first"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="prompts per batch for both (codesign's evaluate default; it also caps a batch "
        "at --max-batch-tokens padded tokens)",
    )
    parser.add_argument(
        "--peer-batch-size",
        type=int,
        default=None,
        help="lm-eval's batch size, when it should differ from --batch-size (lm-eval pads a "
        "batch to its longest prompt: smaller batches pad less but decode more steps)",
    )
    parser.add_argument("--max-batch-tokens", type=int, default=8192)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    args = parser.parse_args()
    args.peer_batch_size = args.peer_batch_size or args.batch_size
    sizes = (args.repeats, args.limit, args.batch_size, args.peer_batch_size)
    if min(*sizes, args.max_prompt_tokens) < 1:
        parser.error("--limit, --repeats, batch sizes and --max-prompt-tokens must be >= 1")
    return args


def prompt_texts(suite, items, tokenizer) -> list[str]:
    """The text each prompt becomes before tokenization, as ``evaluate`` renders it."""
    from codesign.measurements.evaluate.generation import chat_texts

    if suite.chat:
        return chat_texts(tokenizer, [suite.messages(it) for it in items])
    return [suite.prompt_text(it) for it in items]


def run_codesign(loaded, suite, items, texts, args) -> tuple[float, list[str], list[str]]:
    """Seconds, raw outputs and parsed labels, the way ``evaluate``'s runner generates."""
    from codesign.measurements.evaluate.generation import generate
    from codesign.measurements.evaluate.runner import _groups

    tok = loaded.tokenizer
    start = time.perf_counter()
    ids = [tok(t, add_special_tokens=not suite.chat)["input_ids"] for t in texts]
    outs = generate(
        loaded.model,
        tok,
        ids,
        suite.max_new_tokens,
        device=args.device,
        max_batch_tokens=args.max_batch_tokens,
        max_batch=args.batch_size,
        groups=_groups(suite, items),
    )
    raw = [g.raw for g in outs]
    labels = [suite.parse(it, r) for it, r in zip(items, raw, strict=True)]
    return time.perf_counter() - start, raw, labels


def run_lm_eval(lm, suite, items, texts, max_new_tokens: int) -> tuple[float, list[str], list]:
    """Seconds, outputs and parsed labels of lm-eval's ``generate_until`` on ``texts``."""
    from lm_eval.api.instance import Instance

    kwargs = {"until": [], "max_gen_toks": max_new_tokens, "do_sample": False}
    requests = [
        Instance(request_type="generate_until", doc={}, arguments=(t, dict(kwargs)), idx=0)
        for t in texts
    ]
    start = time.perf_counter()
    out = lm.generate_until(requests, disable_tqdm=True)
    raw = [o.strip() for o in out]
    labels = [suite.parse(it, r) for it, r in zip(items, raw, strict=True)]
    return time.perf_counter() - start, raw, labels


def make_hflm(loaded, batch_size: int):
    """lm-eval's HF wrapper around the already-loaded model (no BOS, as codesign)."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(
        pretrained=loaded.model,
        tokenizer=loaded.tokenizer,
        batch_size=batch_size,
        add_bos_token=False,
    )


def check_ids(texts, loaded, lm, add_special: bool) -> None:
    """Stop unless lm-eval encodes every prompt to the ids codesign generates from."""
    tok = loaded.tokenizer
    bad = [
        i
        for i, t in enumerate(texts)
        if tok(t, add_special_tokens=add_special)["input_ids"] != lm.tok_encode(t)
    ]
    if bad:
        raise SystemExit(f"prompt token ids differ on {len(bad)}/{len(texts)} prompts")


def timed_pair(run_ours, run_theirs, repeats: int, warmup: int):
    """Both tools alternately (background load hits both alike): the first run's outputs of
    each, and the timed seconds of each."""
    ours_first, theirs_first = run_ours(), run_theirs()
    ours_t = [] if warmup else [ours_first[0]]
    theirs_t = [] if warmup else [theirs_first[0]]
    for _ in range(repeats - len(ours_t)):
        ours_t.append(run_ours()[0])
        theirs_t.append(run_theirs()[0])
    return ours_first, theirs_first, ours_t, theirs_t


def main() -> int:
    args = parse_args()
    from codesign.launch import quiet_libraries

    quiet_libraries()  # lm-eval's and datasets' progress bars, in a log file
    try:
        import lm_eval
    except ImportError:
        print("lm-evaluation-harness is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    import torch
    import transformers
    from common import load_dense, pick_suites

    from codesign.measurements.evaluate.cli import _without_long_settings
    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.evaluate.suites.base import trust_suites
    from codesign.measurements.profiling import device_name

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    generative = [n for n in trust_suites() if SUITES.get(n).kind == "generate"]
    names = pick_suites(args.suites, generative, "generative trust suite")
    if names is None:
        return 2
    resolved, loaded = load_dense(args.model, args.device)
    lm = make_hflm(loaded, args.peer_batch_size)
    print(f"model:   {resolved.name}: {resolved.baseline}")
    print(
        f"device:  {device_name(args.device)}, dtype {loaded.dtype}, torch threads "
        f"{torch.get_num_threads()}; batch size {args.batch_size} codesign (also capped at "
        f"{args.max_batch_tokens} padded tokens), {args.peer_batch_size} lm-eval"
    )
    print(
        f"tools:   codesign generate (evaluate's path) vs lm-eval {lm_eval.__version__} "
        f"HFLM.generate_until; torch {torch.__version__}, transformers "
        f"{transformers.__version__}; greedy, no BOS on either side"
    )
    print(
        f"{'suite':16}{'prompts':>8}{'tokens':>8}{'same out':>10}{'same label':>11}"
        f"{'lm-eval s':>10}{'codesign s':>11}{'ratio':>7}"
    )
    sum_ours = sum_theirs = 0.0
    worst, all_same, n_all = float("inf"), 0, 0
    for name in names:
        suite = SUITES.get(name)
        data = suite.load(args.limit, args.seed)
        data = _without_long_settings(
            suite, data, loaded.tokenizer, args.max_prompt_tokens, quiet=True
        )
        items = data.items
        texts = prompt_texts(suite, items, loaded.tokenizer)
        check_ids(texts, loaded, lm, add_special=not suite.chat)
        tokens = sum(len(lm.tok_encode(t)) for t in texts)
        ours, theirs, ours_t, theirs_t = timed_pair(
            lambda suite=suite, items=items, texts=texts: run_codesign(
                loaded, suite, items, texts, args
            ),
            lambda suite=suite, items=items, texts=texts: run_lm_eval(
                lm, suite, items, texts, suite.max_new_tokens
            ),
            args.repeats,
            args.warmup,
        )
        same = sum(a == b for a, b in zip(ours[1], theirs[1], strict=True))
        same_label = sum(a == b for a, b in zip(ours[2], theirs[2], strict=True))
        mine, peer = statistics.median(ours_t), statistics.median(theirs_t)
        sum_ours += mine
        sum_theirs += peer
        worst = min(worst, peer / mine)
        all_same += same
        n_all += len(items)
        print(
            f"{name:16}{len(items):8d}{tokens:8d}{f'{same}/{len(items)}':>10}"
            f"{f'{same_label}/{len(items)}':>11}{peer:10.2f}{mine:11.2f}{peer / mine:6.2f}x"
        )
        for a, b in zip(ours[1], theirs[1], strict=True):
            if a != b:
                print(f"    first differing output:\n    codesign: {a!r}\n    lm-eval:  {b!r}")
                break
    overall = sum_theirs / sum_ours
    timing = f"median of {args.repeats}" + (" after one warm-up" if args.warmup else "")
    print(
        f"overall: {overall:.2f}x items/s (sum of per-suite {timing}, wall clock, model load "
        f"excluded); slowest suite {worst:.2f}x; identical outputs {all_same}/{n_all}"
    )
    ok = all_same == n_all and overall >= TARGET_OVERALL and worst >= 1.0
    print(
        f"{'PASS' if ok else 'FAIL'}: target identical outputs, >= {TARGET_OVERALL}x overall "
        "and no suite slower"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
