"""Latency and memory of one variant under a stated workload, measured in a fresh process.

Each profile runs in its own process so that peak memory is the variant's own (process peak
RSS on CPU; ``torch.cuda.max_memory_allocated`` on a GPU) and nothing one variant leaves
behind slows the next. The processes are forked from a fork server that has imported torch
and transformers once (``multiprocessing``'s forkserver, preloading ``PRELOAD``) and never
run a model, so each profile starts with the libraries every profile imports anyway already
mapped, not ~10 s of imports. Timing: wall clock on CPU, CUDA events on a GPU; the median
and interquartile range over every decode step of every repeat, after warm-up.
"""

from __future__ import annotations

import contextlib
import platform
import statistics
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from codesign import hostprobe
from codesign.errors import CodesignError
from codesign.measurements import kernel_probe


@dataclass(frozen=True)
class ProfileWorkload:
    """The standard workload: prefill ``prompt_len`` tokens, then greedy-decode more."""

    prompt_len: int = 128
    decode_tokens: int = 32
    batch_size: int = 1
    warmup: int = 1
    repeats: int = 5
    seed: int = 0

    @property
    def key(self) -> str:
        return (
            f"prefill{self.prompt_len}+decode{self.decode_tokens}"
            f"@b{self.batch_size}x{self.repeats}w{self.warmup}"
        )


def device_name(device: str) -> str:
    """A human name for where the timings come from."""
    if device.startswith("cuda"):
        import torch

        return f"cuda: {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return f"cpu: {cpu} ({torch.get_num_threads()} threads)"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "gptqmodel", "llmcompressor", "compressed-tensors"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def _peak_rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q[2] - q[0]


class _Timer:
    """Wall clock on CPU; CUDA events (which time the GPU's work, not the launch) on a GPU."""

    def __init__(self, device: str) -> None:
        import torch

        self.cuda = device.startswith("cuda")
        self.torch = torch

    def time_ms(self, fn) -> tuple[float, object]:
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            self.torch.cuda.synchronize()
            return start.elapsed_time(end), out
        t0 = time.perf_counter()
        out = fn()
        return (time.perf_counter() - t0) * 1000.0, out


# A warm-up run is short: it is there for first-call costs (lazy kernel set-up, allocator),
# which a 16-token prefill and two decode steps pay as a full run would. A full-length warm-up
# doubled the profile of a slow kernel (GPTQ-3's bfloat16 dequantizing one on a CPU without
# native BF16: ~19 s a 128-token prefill); bench/profile_warmup.py compares the two.
WARMUP_PROMPT_TOKENS = 16
WARMUP_DECODE_TOKENS = 2


def run_workload(model, workload: ProfileWorkload, device: str) -> dict:
    """Prefill + greedy decode with the KV cache, timed step by step after short warm-ups."""
    import torch

    gen = torch.Generator().manual_seed(workload.seed)
    vocab = model.config.vocab_size
    ids = torch.randint(
        100, vocab - 1, (workload.batch_size, workload.prompt_len), generator=gen
    ).to(device)
    timer = _Timer(device)
    prefill, steps = [], []
    with torch.inference_mode():
        for rep in range(workload.warmup + workload.repeats):
            timed = rep >= workload.warmup
            prompt = ids if timed else ids[:, :WARMUP_PROMPT_TOKENS]
            ms, out = timer.time_ms(lambda prompt=prompt: model(input_ids=prompt, use_cache=True))
            past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            rep_steps = []
            for _ in range(workload.decode_tokens if timed else WARMUP_DECODE_TOKENS):

                def step(nxt=nxt, past=past):
                    return model(input_ids=nxt, past_key_values=past, use_cache=True)

                step_ms, out = timer.time_ms(step)
                past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
                rep_steps.append(step_ms)
            if timed:
                prefill.append(ms)
                steps.extend(rep_steps)
    prefill_ms, prefill_iqr = _quartiles(prefill)
    decode_ms, decode_iqr = _quartiles(steps)
    return {
        "prefill_ms": prefill_ms,
        "prefill_ms_iqr": prefill_iqr,
        "decode_ms_per_token": decode_ms,
        "decode_ms_per_token_iqr": decode_iqr,
        "tokens_per_s": workload.batch_size * 1000.0 / decode_ms,
    }


def profile_in_this_process(
    backend: str, path: str, device: str, workload: ProfileWorkload
) -> dict:
    """Load the variant, run the workload, report timings, memory and provenance."""
    import torch

    from codesign.measurements.quantize.backends import QUANTIZERS

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    loaded = QUANTIZERS.get(backend).load(Path(path), device)
    result = run_workload(loaded.model, workload, device)
    host: dict[str, Any] = {"host_bandwidth_gbs": None, "host_peak_tflops": None}
    if device.startswith("cuda"):
        peak, method = torch.cuda.max_memory_allocated(device), "torch.cuda.max_memory_allocated"
    else:
        peak = _peak_rss_bytes()
        method = (
            "process peak RSS (VmHWM) of a process forked from a server that imported torch "
            "and transformers: the runtime pages it touches count, pages only imports touched not"
        )
        # what the CPU roofline needs to model this very run (simulators' validate reads it)
        host = {
            "host_bandwidth_gbs": hostprobe.copy_bandwidth_gbs(),
            "host_peak_tflops": hostprobe.matmul_tflops(),
            "host_kernels": _kernel_terms(loaded.model),
        }
    result.update(
        device=device_name(device),
        dtype=loaded.dtype,
        kernel=loaded.kernel,
        real_low_bit=loaded.real_low_bit,
        weight_bytes_memory=kernel_probe.module_bytes(loaded.model),
        peak_memory_bytes=peak,
        memory_method=method,
        versions=library_versions(),
        **host,
    )
    return result


def _kernel_terms(model: Any) -> dict[str, Any] | None:
    """The kernel probe's terms, after the workload (so lazily unpacked weights are in place);
    a probe that fails costs the roofline its terms, never the profile."""
    try:
        return kernel_probe.probe(model, model.dtype)
    except Exception as exc:  # any kernel or architecture the probe does not know
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


# What every profile imports before it loads a variant: torch, transformers' Llama/Qwen2
# modelling and the backend registry. Never gptqmodel (it starts threads when imported, which
# a fork must not inherit); a GPTQ profile imports it itself.
PRELOAD = ["codesign.measurements.profiling_preload"]
_POOL: Any = None


def _pool() -> Any:
    """One fork server per process: started with the first profile, reused by the rest."""
    global _POOL
    if _POOL is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        # one task per child: every profile gets a freshly forked process
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=ctx, max_tasks_per_child=1)
    return _POOL


def profile_variant(backend: str, path: str, device: str, workload: ProfileWorkload) -> dict:
    """Run :func:`profile_in_this_process` in a process of its own and return its result."""
    from concurrent.futures.process import BrokenProcessPool

    global _POOL
    try:
        return _pool().submit(profile_in_this_process, backend, path, device, workload).result()
    except BrokenProcessPool as exc:  # killed (out of memory?) or crashed
        _POOL = None
        raise CodesignError(f"profiling {path} failed: its process died ({exc})") from exc
    except CodesignError:
        raise
    except Exception as exc:  # raised in the child, pickled back
        raise CodesignError(f"profiling {path} failed: {type(exc).__name__}: {exc}") from exc
