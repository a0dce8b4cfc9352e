"""Make sure the store holds what the search needs, measuring the embedded default if not.

The search needs, for one model, predictions of every trust suite and MMLU answered by every
stored variant (the dense model among them), and, for reporting, measured profiles. When the
store lacks them and the model is the embedded default, the measurements stage runs first
(GPTQ and AWQ at 3, 4 and 8 bits, `--limit` items per suite setting) and says so; anything it
has already stored is never measured again. For any other model the command says what to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from codesign.commandline.interrupts import interrupt_note, on_interrupt
from codesign.commandline.output import console
from codesign.errors import CodesignError
from codesign.measurements.evaluate.suites import SUITES, trust_suites
from codesign.measurements.quantize.models import DEFAULT_MODEL
from codesign.scoring.stored import current_protocol
from codesign.scoring.trust import perspectives
from codesign.store import Store

# the suites of the four trust perspectives, and MMLU by log-likelihood for the floor
NEEDED_SUITES = (
    *(n for n in SUITES.names() if SUITES.get(n).trust),
    "mmlu_ll",
)
METHODS, BITS = "gptq,awq", "3,4,8"
# the search reads batch-1 decode latency and peak memory from profiles (reported beside the
# modelled costs, never searched on): after a warm-up, one timed 128-token prefill and 16
# decode steps (16 step timings per variant, as two repeats of 8 gave; the prefill time, one
# sample now, is not searched on). GPTQ-3's kernel dequantizes in bfloat16 at every call
# (~19 s per prefill, ~0.8 s per step on a 2-core CPU without native BF16), so its prefills,
# not the variant count, set this phase's time.
PROFILE = ["--batch-sizes", "1", "--warmup", "1", "--repeats", "1", "--decode-tokens", "16"]
# Fairness' 16- and 32-shot settings send 2,200-4,200-token prompts (per-item demonstrations, as
# DecodingTrust's data has them, so no prefix is shared): 13.6 s each on a 2-core CPU, 85 % of
# the suites' time at four items per setting. The main job leaves settings over this out and
# every output names them; `evaluate` without the flag adds them (stored items are kept).
MAX_PROMPT_TOKENS = 2048
# Worker processes (work units in the store, the cores split between them): two of each on
# this 2-core AMD EPYC. Two cold main jobs on it: one worker quantized in 561 s (17 s of it
# the GGUF conversion) and evaluated in 602 s; two workers, at an older commit, in 498 s (a
# 50 s conversion) and 480 s. GPTQModel's per-column loop is single-threaded Python, so one
# worker leaves a core idle through every GPTQ variant, and generation's per-step Python
# overhead overlaps with the other worker's matrix products. (bench/distributed_evaluate.py
# measured only 1.04x for evaluate at --limit 2 on three variants, where loading dominates.)
QUANTIZE_WORKERS, EVALUATE_WORKERS = "2", "2"
# MMLU has one setting, so `--limit` alone would score 4 questions (every variant scored 0.0
# and the MMLU floor could not tell anything apart). Log-likelihood MMLU costs one forward
# pass per question (~0.23 s on this 2-core CPU for the 135M model): 300 questions give the
# dense model a 95% interval of at most ±5 points at any accuracy up to 27% (Wilson; the
# embedded model scores 15-25% here), ±5.7 at the worst case of 50%.
MMLU_ITEMS = 300


def _measurements(argv: Sequence[str]) -> int:
    from codesign.measurements.cli import main

    return main(list(argv))


def missing(
    store: Store, model: str | None, *, allow: bool = True
) -> tuple[str | None, list[str], bool]:
    """(the model the search will use, suites it lacks, whether it lacks profiles); a named
    model the store does not hold is refused unless it is the embedded default and measuring
    is allowed."""
    frame = store.predictions_frame()
    models = sorted(frame["model"].unique()) if not frame.empty else []
    if model is None:
        if len(models) == 1:
            model = models[0]
        elif DEFAULT_MODEL in models or not models:
            model = DEFAULT_MODEL
        else:
            raise CodesignError(f"the store holds several models ({', '.join(models)}): --model")
    elif model not in models and (model != DEFAULT_MODEL or not allow):
        held = ", ".join(models) if models else "none yet"
        raise CodesignError(
            f"--model {model!r}: the store holds no predictions of it (models with "
            f"predictions: {held}); measure it first with `python -m codesign.measurements "
            f"evaluate --model {model} --store {store.url}`"
        )
    have = frame[frame["model"] == model] if not frame.empty else frame
    # every stored variant of the model, not only those with some predictions: an evaluate
    # stopped part-way has quantized them all but answered with some
    variants = {v.key for v, _ in store.variants(model)}
    lacking = []
    current = None if have.empty else current_protocol(have)
    for name in NEEDED_SUITES:
        rows = have if current is None else have[(have["suite"] == name) & current]
        done = set(rows["variant_key"]) if not rows.empty else set()
        if not done or not variants <= done:
            lacking.append(name)
        elif name == "mmlu_ll" and model == DEFAULT_MODEL and allow:
            # a store measured before MMLU_ITEMS: topped up (its questions are kept)
            answered = rows.groupby("variant_key")["item_id"].nunique()
            if answered.reindex(sorted(variants)).fillna(0).min() < MMLU_ITEMS:
                lacking.append(name)
    profiled = {v.key for _, v, m in store.profiles() if m.name == model}
    return model, lacking, not variants or not variants <= profiled


def _unless_never_measured(store: Store, model: str, lacking: list[str]) -> list[str]:
    """What still stops a search that may not measure: a trust perspective the store never
    measured for ``model`` is left out of trust (said here; trust averages the perspectives
    measured), as long as one is measured; one measured in part (an evaluate stopped
    part-way) and MMLU still stop it."""
    counts = store.prediction_counts([v.id for v, _ in store.variants(model)])
    measured = perspectives(suite for _, suite in counts)
    never = [n for n in lacking if n in trust_suites() and n not in measured]
    if not never or not measured:
        return lacking
    console.print(
        f"{model}: trust averages the perspectives the store measured ({', '.join(measured)}); "
        f"never measured, left out: {', '.join(never)}",
        highlight=False,
    )
    return [n for n in lacking if n not in never]


def ensure_measurements(
    store: Store,
    model: str | None,
    *,
    limit: int,
    allow: bool = True,
    run: Callable[[Sequence[str]], int] = _measurements,
    timings: dict[str, float] | None = None,
    engine: Sequence[str] = (),
) -> str:
    """Returns the model to search; measures the embedded default first when needed, one
    phase at a time (quantize, evaluate, profile), each phase's seconds into ``timings``.
    ``engine``: evaluate's engine flags (checked by the caller before the store opened)."""
    timings = {} if timings is None else timings
    model, lacking, unprofiled = missing(store, model, allow=allow)
    url = store.url
    if lacking and (model != DEFAULT_MODEL or not allow):
        lacking = _unless_never_measured(store, model, lacking)
    if lacking:
        if model != DEFAULT_MODEL or not allow:
            raise CodesignError(
                f"the store lacks {', '.join(lacking)} predictions for {model}: run "
                f"`python -m codesign.measurements evaluate --model {model} --store {url}` first"
            )
        console.print(
            f"[bold]The store lacks {', '.join(lacking)} for {model}:[/bold] measuring the "
            f"embedded default first — GPTQ and AWQ at 3, 4 and 8 bits plus the dense model, "
            f"the four trust perspectives at --limit {limit} items per setting (settings with "
            f"prompts over {MAX_PROMPT_TOKENS} tokens left out, named below) and MMLU by "
            f"log-likelihood on {MMLU_ITEMS} questions. This runs the "
            "model on this machine (minutes on a CPU); everything is stored, so it is never "
            "repeated."
        )
        variants = ["--model", model, "--method", METHODS, "--bits", BITS, "--store", url]
        _phase(run, "quantize", ["quantize", *variants, "--workers", QUANTIZE_WORKERS], timings)
        suites = ["--suites", ",".join(NEEDED_SUITES), "--limit", str(limit)]
        suites += ["--suite-limit", f"mmlu_ll={MMLU_ITEMS}"]
        suites += ["--max-prompt-tokens", str(MAX_PROMPT_TOKENS)]
        _phase(
            run,
            "evaluate",
            ["evaluate", *variants, *suites, "--workers", EVALUATE_WORKERS, *engine],
            timings,
        )
        unprofiled = missing(store, model)[2]  # evaluate may have quantized new variants
    if unprofiled and model == DEFAULT_MODEL and allow:
        console.print(f"[bold]Profiling the stored variants of {model}[/bold] (latency, memory).")
        # batch 1 only: a CPU runs the 3-bit kernels' batched prefill in bfloat16 very slowly
        _phase(run, "profile", ["profile", "--model", model, *PROFILE, "--store", url], timings)
    return model


def _phase(
    run: Callable[[Sequence[str]], int], name: str, argv: list[str], timings: dict[str, float]
) -> None:
    """One measuring command, timed; says how long it took (also in a log file or a pipe)."""
    console.print(f"[bold]phase {name}[/bold]: python -m codesign.measurements {argv[0]} …")
    start = time.perf_counter()
    try:
        _run(run, argv)
    except KeyboardInterrupt:
        inner = interrupt_note()
        on_interrupt(f"the search stopped in its {name} phase; {inner}")
        raise
    timings[name] = time.perf_counter() - start
    console.print(f"phase {name}: done in {timings[name]:.0f} s", highlight=False)


def _run(run: Callable[[Sequence[str]], int], argv: list[str]) -> None:
    """A phase that failed ends the search with its own exit status (2 bad input, 1 an
    error or a worker that died, 130 Ctrl-C), its own line above saying why."""
    status = run(argv)
    if status == 130:
        raise KeyboardInterrupt
    if status != 0:
        error = CodesignError(
            f"`python -m codesign.measurements {' '.join(argv)}` failed (exit {status}; its "
            "error is above)"
        )
        error.exit_code = status if status in (1, 2) else 1
        raise error
