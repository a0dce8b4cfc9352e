"""evaluate stores every item's prediction once, and a killed run resumes where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from codesign.store import Store
from tests.processes import scoring_output


def _cmd(model, store_url, suites="ethics"):
    return [
        sys.executable,
        "-m",
        "codesign.measurements",
        "evaluate",
        "--model",
        str(model),
        "--method",
        "gptq",
        "--bits",
        "4",
        "--calib-samples",
        "4",
        "--calib-seq-len",
        "32",
        "--suites",
        suites,
        "--limit",
        "6",
        "--max-batch-tokens",
        "256",
        "--store",
        store_url,
    ]


def _count(url):
    try:
        return Store(url).counts()["predictions"]
    except Exception:  # the store may not exist yet
        return 0


def test_evaluate_stores_each_item_once_and_resumes_after_a_kill(tiny_llama, store_url, tmp_path):
    env = dict(os.environ, CODESIGN_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        _cmd(tiny_llama, store_url), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and _count(store_url) < 4:
        time.sleep(0.2)
    assert proc.poll() is None, "finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored_before = _count(store_url)
    assert stored_before >= 4

    done = subprocess.run(
        [*_cmd(tiny_llama, store_url), "--timing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{stored_before} already stored" in done.stdout.replace("\n", " ")
    # --timing: where the resumed run's time went, per suite
    assert "where the evaluation time went" in done.stdout
    assert any(line.lstrip("│ ").startswith("ethics") for line in done.stdout.splitlines())
    frame = Store(store_url).predictions_frame("ethics")
    # 6 zero + 6 few + 6 of the first 200 immoral × (5 jailbreak + 5 evasive) = 72 items, for
    # 2 variants (comp-trust's settings, each sampled to --limit)
    assert len(frame) == 2 * 72
    assert not frame.duplicated(["variant_key", "item_id"]).any()
    assert set(frame["label"]) <= {"wrong", "not wrong", "REFUSED", "INVALID"}
    assert frame["extra"].map(lambda e: "stand-in" in e["data"]).all()
    runtime = frame.groupby("method")["extra"].first().map(lambda e: e["runtime"])
    assert runtime["dense"].startswith("cpu float32: dense torch.nn.Linear"), runtime["dense"]
    assert "exact float32 copies" in runtime["gptq"], runtime["gptq"]

    again = subprocess.run(
        _cmd(tiny_llama, store_url), env=env, capture_output=True, text=True, timeout=900
    )
    assert "evaluating 0 items" in again.stdout
    assert "ethics" in again.stdout  # what is stored, per suite
    assert "python -m codesign.scoring" in again.stdout  # where its scores are read
    assert "exact float32 copies" in scoring_output(store_url, env)  # how each variant ran
