"""Make sure the store holds what the search needs, measuring the embedded default if not.

The search needs, for one model, predictions of every trust suite and MMLU answered by every
stored variant (the dense model among them), and, for reporting, measured profiles. When the
store lacks them and the model is the embedded default, the measurements stage runs first
(GPTQ and AWQ at 3, 4 and 8 bits, `--limit` items per suite setting) and says so; anything it
has already stored is never measured again. For any other model the command says what to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from codesign.cli_common import console
from codesign.ensembles.stored import current_protocol
from codesign.errors import CodesignError
from codesign.measurements.evaluate.suites import SUITES
from codesign.measurements.quantize.models import DEFAULT_MODEL
from codesign.store import Store

# the suites of the four trust perspectives, and MMLU by log-likelihood for the floor
NEEDED_SUITES = (
    *(n for n in SUITES.names() if SUITES.get(n).trust),
    "mmlu_ll",
)
METHODS, BITS = "gptq,awq", "3,4,8"


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
    profiled = {v.key for _, v, m in store.profiles() if m.name == model}
    return model, lacking, not variants or not variants <= profiled


def ensure_measurements(
    store: Store,
    model: str | None,
    *,
    limit: int,
    allow: bool = True,
    run: Callable[[Sequence[str]], int] = _measurements,
) -> str:
    """Returns the model to search; measures the embedded default first when needed."""
    model, lacking, unprofiled = missing(store, model, allow=allow)
    url = store.url
    if lacking:
        if model != DEFAULT_MODEL or not allow:
            raise CodesignError(
                f"the store lacks {', '.join(lacking)} predictions for {model}: run "
                f"`python -m codesign.measurements evaluate --model {model} --store {url}` first"
            )
        console.print(
            f"[bold]The store lacks {', '.join(lacking)} for {model}:[/bold] measuring the "
            f"embedded default first — GPTQ and AWQ at 3, 4 and 8 bits plus the dense model, "
            f"every suite at --limit {limit} items per setting. This runs the model on this "
            "machine (slow on a CPU); everything is stored, so it is never repeated."
        )
        argv = ["evaluate", "--model", model, "--method", METHODS, "--bits", BITS]
        _run(run, [*argv, "--limit", str(limit), "--store", url])
        unprofiled = missing(store, model)[2]  # evaluate may have quantized new variants
    if unprofiled and model == DEFAULT_MODEL and allow:
        console.print(f"[bold]Profiling the stored variants of {model}[/bold] (latency, memory).")
        # batch 1 only: the search reads batch-1 decode latency and peak memory, and a
        # CPU runs the 3-bit kernels' batched prefill in bfloat16 very slowly
        _run(run, ["profile", "--model", model, "--batch-sizes", "1", "--store", url])
    return model


def _run(run: Callable[[Sequence[str]], int], argv: list[str]) -> None:
    status = run(argv)
    if status != 0:
        raise CodesignError(f"`python -m codesign.measurements {' '.join(argv)}` failed ({status})")
