"""A quantize run killed mid-way resumes: nothing lost, nothing duplicated, nothing redone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from codesign.store import Store


def _quantize_cmd(model, store_url):
    return [
        sys.executable,
        "-m",
        "codesign.measurements",
        "quantize",
        "--model",
        str(model),
        "--method",
        "gptq",
        "--bits",
        "8,4,3",
        "--calib-samples",
        "8",
        "--calib-seq-len",
        "64",
        "--store",
        store_url,
    ]


def _variant_dirs(cache):
    root = cache / "variants"
    return (
        {p.name: p.stat().st_mtime_ns for p in root.iterdir() if p.is_dir()}
        if root.exists()
        else {}
    )


def test_killed_quantize_resumes_without_redoing_or_duplicating(tiny_llama, store_url, tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, CODESIGN_CACHE=str(cache))
    proc = subprocess.Popen(
        _quantize_cmd(tiny_llama, store_url),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    done_before_kill = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            done_before_kill = Store(store_url).counts()["variants"]
        except Exception:  # the store may not exist yet
            continue
        if done_before_kill >= 2:  # dense + the first quantized variant are stored
            break
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # no cleanup of any kind
    proc.wait()
    finished = {k: v for k, v in _variant_dirs(cache).items() if ".tmp-" not in k}
    assert len(finished) >= 1

    resumed = subprocess.run(
        _quantize_cmd(tiny_llama, store_url), env=env, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr
    store = Store(store_url)
    rows = store.variants()
    assert len(rows) == 4  # dense + 3 bit-widths, each exactly once
    assert len({v.key for v, _ in rows}) == 4
    after = _variant_dirs(cache)
    for name, mtime in finished.items():  # completed checkpoints were not quantized again
        assert after[name] == mtime
    assert not [k for k in after if ".tmp-" in k]  # the killed run's partial output is gone
    assert resumed.stdout.count("cached") >= len(finished)
