"""Benchmark: codesign's greedy decoding (finished rows leave the batch; prefilled batches of
several calls decode merged) against transformers' greedy ``generate`` on each batch (finished
rows keep decoding pad tokens until the whole batch is done; each batch decodes on its own).

For each generative suite, the prompts ``evaluate`` would send (the seeded sample of
``--limit`` items per setting, through the chat template, settings over
``--max-prompt-tokens`` left out as the main job leaves them out) go through
``codesign.measurements.evaluate.generation.generate`` twice per repeat, alternating: once as
``evaluate`` runs it (one call, the suite's groups given, decode merged), once as it ran before
the decode loop was codesign's (one call per group, each batch through ``model.generate``: same
prompts, same cached prefixes, same ``max_new_tokens``). Printed per suite: the rows x steps
each decoded, how many outputs are identical, the median wall time of each and the ratio.
Target: identical outputs, faster overall, and no suite slower by more than this machine's
run-to-run noise (``NOISE``): a suite of one batch whose rows all run to ``max_new_tokens``
does the same work either way, so its ratio is noise around 1.

Run: ``python bench/greedy_decode.py [--suites all] [--limit 4] [--repeats 3] [--threads N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

NOISE = 0.03  # a suite may measure 3 % slower: same work, timed on a shared CPU


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--suites", default="all", help="comma list of generative suites")
    parser.add_argument("--limit", type=int, default=4, help="items per suite setting")
    parser.add_argument("--seed", type=int, default=0, help="item sampling seed")
    parser.add_argument("--max-prompt-tokens", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    args = parser.parse_args()
    if min(args.repeats, args.limit, args.max_prompt_tokens) < 1:
        parser.error("--limit, --repeats and --max-prompt-tokens must be at least 1")
    return args


def transformers_decode(pad: int, steps: list[int]):
    """The peer: the same signature as ``greedy_decode``, through ``model.generate``; adds
    the rows x steps it decoded to ``steps``."""
    import torch
    from transformers import GenerationConfig

    def decode(model, ids, mask, cache, max_new_tokens, eos_id, clock=None):
        stop = sorted(eos_id) if isinstance(eos_id, frozenset) else [eos_id]
        config = GenerationConfig(
            max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop, pad_token_id=pad
        )
        with torch.inference_mode():
            seqs = model.generate(
                input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=config
            )
        new = seqs[:, ids.shape[1] :].tolist()
        steps.append(len(new) * len(new[0]))
        ends = [next((i for i, t in enumerate(row) if t in stop), None) for row in new]
        return [row if end is None else row[: end + 1] for row, end in zip(new, ends, strict=True)]

    return decode


def _consecutive(groups: list[list[int]]) -> list[list[int]]:
    """The groups' indices once their prompts are laid out group after group."""
    out, start = [], 0
    for g in groups:
        out.append(list(range(start, start + len(g))))
        start += len(g)
    return out


def main() -> int:
    args = parse_args()
    import torch
    import transformers
    from common import load_dense, pick_suites

    from codesign.measurements.evaluate import generation
    from codesign.measurements.evaluate.cli import _without_long_settings
    from codesign.measurements.evaluate.runner import _groups, encode_prompts
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
    tok = loaded.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ours_decode = generation.greedy_decode
    print(f"model:   {resolved.name}: {resolved.baseline}")
    print(
        f"device:  {device_name(args.device)}, dtype {loaded.dtype}, torch threads "
        f"{torch.get_num_threads()}; --limit {args.limit} per setting"
    )
    print(
        f"{'suite':16}{'prompts':>8}{'row-steps ours/peer':>21}{'same':>9}"
        f"{'peer s':>9}{'ours s':>9}{'ratio':>7}"
    )
    total_ours = total_peer = 0.0
    worst, all_same, n_all = float("inf"), 0, 0
    for name in names:
        suite = SUITES.get(name)
        data = _without_long_settings(
            suite, suite.load(args.limit, args.seed), tok, args.max_prompt_tokens, quiet=True
        )
        items = data.items
        groups = _groups(suite, items)
        encoded = [encode_prompts(tok, suite, [items[i] for i in g]) for g in groups]

        def run(peer_steps: list[int] | None, encoded=encoded, groups=groups, suite=suite):
            start = time.perf_counter()
            if peer_steps is None:  # evaluate's path
                outs = generation.generate(
                    loaded.model,
                    tok,
                    [ids for call in encoded for ids in call],
                    suite.max_new_tokens,
                    device=args.device,
                    groups=_consecutive(groups),
                )
                return time.perf_counter() - start, outs
            generation.greedy_decode = transformers_decode(pad, peer_steps)
            try:
                outs = [
                    g
                    for ids in encoded
                    for g in generation.generate(
                        loaded.model,
                        tok,
                        ids,
                        suite.max_new_tokens,
                        device=args.device,
                        batching=generation.Batching.APART,
                    )
                ]
                return time.perf_counter() - start, outs
            finally:
                generation.greedy_decode = ours_decode

        peer_steps: list[int] = []
        _, peer_out = run(peer_steps)  # warm-up of both; their outputs are compared
        _, our_out = run(None)
        decoded_peer = sum(peer_steps)
        ours_t, peer_t = [], []
        for _ in range(args.repeats):
            peer_t.append(run([])[0])
            ours_t.append(run(None)[0])
        ours, peer = statistics.median(ours_t), statistics.median(peer_t)
        same = sum(a.raw == b.raw for a, b in zip(our_out, peer_out, strict=True))
        total_ours += ours
        total_peer += peer
        worst = min(worst, peer / ours)
        all_same += same
        n_all += len(items)
        decoded_ours = sum(g.generated_tokens for g in our_out)  # finished rows left
        print(
            f"{name:16}{len(items):8d}{f'{decoded_ours}/{decoded_peer}':>21}"
            f"{f'{same}/{len(items)}':>9}{peer:9.2f}{ours:9.2f}{peer / ours:6.2f}x"
        )
    overall = total_peer / total_ours
    ok = all_same == n_all and overall >= 1.0 and worst >= 1.0 - NOISE
    print(
        f"overall: {overall:.2f}x (sum of medians of {args.repeats} runs after one warm-up, "
        f"wall clock); slowest suite {worst:.2f}x; identical outputs {all_same}/{n_all}"
    )
    print(
        f"{'PASS' if ok else 'FAIL'}: target identical outputs, >= 1x overall and no suite "
        f"below {1 - NOISE:.2f}x (same work where no row ends early: noise)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
