"""Worker processes of a measuring command (``--workers N``): one per GPU (or per CPU share),
each the same command with the hidden ``--worker`` flag, sharing the job through the store
(codesign.jobs.queue); stopped together on Ctrl-C or SIGTERM, their deaths reported."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from codesign.errors import CodesignError
from codesign.jobs.queue import WORKER_FLAG, open_units
from codesign.store import Store


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (or their indices)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def gpus_for(device: str) -> list[str]:
    """The GPUs workers on ``device`` split between them: every visible one for ``cuda``, the
    one named for ``cuda:i``, none on a CPU."""
    if not device.startswith("cuda"):
        return []
    gpus = visible_gpus()
    if ":" in device:
        index = int(device.split(":", 1)[1])
        return [gpus[index]] if index < len(gpus) else []
    return gpus


def on_own_gpu(argv: Sequence[str]) -> list[str]:
    """``argv`` with its ``--device cuda:i`` as plain ``cuda``: a worker sees only its GPU."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg.startswith("--device=cuda"):
            out[i] = "--device=cuda"
        elif arg == "--device" and i + 1 < len(out) and out[i + 1].startswith("cuda"):
            out[i + 1] = "cuda"
    return out


def worker_envs(n: int, gpus: Sequence[str], cpus: int | None = None) -> list[dict[str, str]]:
    """What each of ``n`` workers adds to its environment: its share of the CPU cores
    (OMP_NUM_THREADS) and, when there are GPUs, one of them as its only visible device (worker
    i gets GPU i, round-robin when there are more workers than GPUs), so its ``cuda`` is that
    GPU for every library it uses."""
    threads = str(max(1, (cpus or os.cpu_count() or 1) // n))
    envs = [{"OMP_NUM_THREADS": threads} for _ in range(n)]
    for i, env in enumerate(envs):
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
    return envs


def spawn_workers(
    n: int,
    argv: Sequence[str],
    command: str = "codesign.measurements",
    gpus: Sequence[str] = (),
) -> list[int]:
    """Run ``python -m command argv --worker`` in ``n`` processes, the cores (and ``gpus``, one
    each) split between them; returns their exit statuses (negative: killed by that signal;
    judge them with ``check_workers``). Their output goes where this process's goes, each line
    prefixed by the worker's number (and its GPU)."""
    envs, procs = worker_envs(n, gpus), []
    if gpus:  # each sees its one GPU as cuda:0
        argv = on_own_gpu(argv)
    for env in envs:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", command, *argv, WORKER_FLAG],
                env=dict(os.environ, **env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
        )
    names = [
        f"[worker {i + 1}" + (f" gpu {e['CUDA_VISIBLE_DEVICES']}" if gpus else "") + "] "
        for i, e in enumerate(envs)
    ]
    pumps = [
        threading.Thread(target=_pump, args=(p, name), daemon=True)
        for p, name in zip(procs, names, strict=True)
    ]
    for t in pumps:
        t.start()
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        stop_workers(procs)
        raise
    for t in pumps:
        t.join()
    return codes


# how long stopped workers get: a Ctrl-C from the terminal reached them too, and most stop at
# once; one that did not (the parent alone was signalled: `kill -INT`, `timeout`, a scheduler;
# or a background job, whose SIGINT is ignored) is sent SIGTERM, which a codesign command
# takes as its Ctrl-C, then SIGKILL
STOP_GRACE_S = (3.0, 10.0, 5.0)


def stop_workers(procs: Sequence[subprocess.Popen]) -> None:
    """Stop every worker still running, within seconds, whoever was signalled: their stored
    work is committed unit by unit, and a unit cut short is retaken by the next run."""
    sends = (None, signal.SIGTERM, signal.SIGKILL)
    for send, grace in zip(sends, STOP_GRACE_S, strict=True):
        live = [p for p in procs if p.poll() is None]
        if not live:
            return
        for p in live if send is not None else ():
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(send)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in live):
            time.sleep(0.05)


class WorkerDied(CodesignError):
    """A worker process died (killed, out of memory, an error of its own) and its work was not
    all done by the others: not bad input."""

    exit_code = 1


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def check_workers(codes: Sequence[int], what: str, store: Store, job: str | None) -> None:
    """After ``--workers N``: a worker that refused its input (exit 2, its line above) makes
    this exit 2; one that died otherwise is exit 1 (WorkerDied) unless the others finished
    every unit of ``job`` (they retake a dead worker's unit), which is said in a line."""
    failed = [(i, c) for i, c in enumerate(codes, 1) if c != 0]
    if not failed:
        return
    if any(c == 2 for _, c in failed):
        raise CodesignError(f"a {what} worker refused its input (its error is above)")
    deaths = ", ".join(f"worker {i} {_how_it_ended(c)}" for i, c in failed)
    left = open_units(store, job) if job is not None else None
    if left is not None and not left.held and not left.pending:
        print(
            f"note: {deaths}; the other workers retook its unit and every unit is done",
            flush=True,
        )
        return
    todo = f" ({left.describe()})" if left is not None else ""
    raise WorkerDied(
        f"a {what} worker died: {deaths}; work is not complete{todo}: rerun the same command "
        "to finish it (stored work is kept)"
    )


def _pump(proc: subprocess.Popen, prefix: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(prefix + line)
        sys.stdout.flush()
