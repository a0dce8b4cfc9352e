"""Integration: the real embedded model (SmolLM2-135M GGUF from PyPI), 4-bit with each method."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codesign.store import Store

pytestmark = pytest.mark.integration


def _cli(*args: str, store_url: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "codesign.measurements", *args, "--store", store_url],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_embedded_model_quantizes_profiles_evaluates_and_lists(store_url):
    quantize = (
        "quantize",
        "--model",
        "smollm2-135m",
        "--method",
        "gptq,awq",
        "--bits",
        "4",
        "--calib-samples",
        "2",
        "--calib-seq-len",
        "64",
    )
    first = _cli(*quantize, store_url=store_url)
    assert "group size 128 does not divide layer width 576; using 64" in first.stdout
    _cli(
        "profile",
        "--batch-sizes",
        "1",
        "--repeats",
        "2",
        "--prompt-len",
        "32",
        "--decode-tokens",
        "8",
        store_url=store_url,
    )
    listing = _cli("list", store_url=store_url).stdout
    assert "dense (dequantized from Q4_1 GGUF)" in listing

    frame = Store(store_url).profiles_frame()
    pairs = sorted(zip(frame["method"], frame["bits"], strict=True))
    assert pairs == [("awq", 4), ("dense", 16), ("gptq", 4)]
    quantized = frame[frame["method"] != "dense"]
    real = dict(zip(quantized["method"], quantized["real_low_bit"], strict=True))
    kernels = dict(zip(quantized["method"], quantized["kernel"], strict=True))
    assert real["gptq"], kernels  # GPTQ-4 runs ATen's int4 kernel
    # AWQ-4 comes from llm-compressor on a CPU (bench/quantize_choices.py: 7.8x faster there);
    # its profile says it ran dequantized, never a low-bit kernel
    assert not real["awq"] and "decompressed from compressed-tensors" in kernels["awq"]
    assert (frame["decode_ms_per_token"] > 0).all() and (frame["peak_memory_bytes"] > 0).all()
    dense_bytes = frame.loc[frame["method"] == "dense", "weight_bytes"].item()
    # in memory, only a low-bit kernel is smaller than dense; llm-compressor's AWQ-4 is
    # decompressed at load, so it is smaller on disk only
    assert frame.loc[frame["method"] == "gptq", "weight_bytes"].item() < dense_bytes
    disk = {v.method: v.weight_bytes_disk for v, _ in Store(store_url).variants()}
    assert disk["awq"] < disk["dense"] and disk["gptq"] < disk["dense"]

    evaluate = ("evaluate", *quantize[1:], "--suites", "all", "--limit", "2")
    _cli(*evaluate, store_url=store_url)
    preds = Store(store_url).predictions_frame()
    assert set(preds["suite"]) == {
        "adv_robustness",
        "fairness",
        "ethics",
        "ood",
        "mmlu_gen",
        "mmlu_ll",
    }
    assert preds.groupby("suite")["variant_key"].nunique().eq(3).all()
    assert (preds["raw"].str.len() > 0).mean() > 0.9  # the real model answers

    again = _cli(*quantize, store_url=store_url)
    assert again.stdout.count("cached") == 2 and "quantized in" not in again.stdout
    assert Store(store_url).counts()["variants"] == 3


def test_embedded_model_served_answers_equal_the_local_engines(tmp_path):
    """The embedded dense model and its AWQ-4 variant through `transformers serve` (the
    openai engine) answer as the local engine does, item by item."""
    from codesign.testing.serving import TransformersServe
    from tests.measurements.evaluate.test_openai_engine import _differences, _outputs

    args = ("evaluate", "--model", "smollm2-135m", "--method", "awq", "--bits", "4")
    args += ("--calib-samples", "2", "--calib-seq-len", "64", "--limit", "2")
    args += ("--suites", "ethics,adv_robustness,mmlu_gen")
    _cli(*args, store_url=f"sqlite:///{tmp_path / 'local.db'}")
    with TransformersServe() as server:
        served = (*args, "--engine", "openai", "--base-url", server.url)
        _cli(*served, store_url=f"sqlite:///{tmp_path / 'served.db'}")
    local, served_ = _outputs(tmp_path / "local.db"), _outputs(tmp_path / "served.db")
    assert set(local) == set(served_) and {k[0] for k in local} == {"dense", "awq"}
    diffs = _differences(local, served_)
    assert len(diffs) <= 0.01 * len(local), "\n".join(diffs)
