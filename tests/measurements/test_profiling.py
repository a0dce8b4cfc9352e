"""Profiles: timings, memory and provenance of a variant, measured in a process of its own."""

from __future__ import annotations

import os

import pytest

from codesign.measurements.profiling import ProfileWorkload, profile_variant, run_workload
from codesign.measurements.quantize.backends import QUANTIZERS
from codesign.measurements.quantize.calibration_text import CalibrationSpec
from codesign.measurements.quantize.ensure import ensure_variant
from codesign.measurements.quantize.models import resolve_model
from codesign.measurements.quantize.recipes import DENSE, VariantSpec
from codesign.store import Store

SMALL = ProfileWorkload(prompt_len=16, decode_tokens=4, batch_size=2, warmup=1, repeats=2)


def test_workload_timings_are_positive_and_consistent(tiny_llama):
    loaded = QUANTIZERS.get("dense").load(tiny_llama, "cpu")
    result = run_workload(loaded.model, SMALL, "cpu")
    assert result["prefill_ms"] > 0 and result["decode_ms_per_token"] > 0
    assert result["decode_ms_per_token_iqr"] >= 0
    assert abs(result["tokens_per_s"] - 2 * 1000 / result["decode_ms_per_token"]) < 1e-6


def test_warm_up_is_short_and_the_timed_runs_are_the_workload(tiny_llama):
    """Each model call's input length: a warm-up of WARMUP_PROMPT_TOKENS then
    WARMUP_DECODE_TOKENS steps, then every timed repeat at the workload's full size."""
    from codesign.measurements.profiling import WARMUP_DECODE_TOKENS, WARMUP_PROMPT_TOKENS

    loaded = QUANTIZERS.get("dense").load(tiny_llama, "cpu")
    calls: list[tuple[int, int]] = []
    loaded.model.register_forward_pre_hook(
        lambda mod, args, kwargs: calls.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    workload = ProfileWorkload(prompt_len=40, decode_tokens=5, batch_size=2, warmup=1, repeats=2)
    run_workload(loaded.model, workload, "cpu")
    warm = [(2, WARMUP_PROMPT_TOKENS)] + [(2, 1)] * WARMUP_DECODE_TOKENS
    timed = [(2, 40)] + [(2, 1)] * 5
    assert calls == warm + timed * 2


def test_profile_of_a_4bit_variant_names_its_real_kernel(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    row = ensure_variant(
        store, model, VariantSpec("gptq", 4), CalibrationSpec(n_samples=8, seq_len=64)
    ).row
    quant = profile_variant(row.backend, row.path, "cpu", SMALL)
    dense_row = ensure_variant(store, model, DENSE, CalibrationSpec()).row
    dense = profile_variant(dense_row.backend, dense_row.path, "cpu", SMALL)
    assert quant["real_low_bit"] and "int4" in quant["kernel"]
    assert not dense["real_low_bit"] and "nn.Linear" in dense["kernel"]
    assert quant["device"].startswith("cpu: ")
    assert quant["weight_bytes_memory"] < dense["weight_bytes_memory"]
    assert quant["peak_memory_bytes"] > quant["weight_bytes_memory"]
    assert "torch" in quant["versions"] and "gptqmodel" in quant["versions"]
    assert "peak RSS" in quant["memory_method"]
    # the kernel probe measured both paths: packed int4 (with scales) and dense fp32
    assert quant["host_kernels"]["linear_bits"] < 8 and dense["host_kernels"]["linear_bits"] == 32
    assert quant["host_kernels"]["layer_overhead_us"] is not None


def test_workload_key_names_every_setting():
    assert SMALL.key == "prefill16+decode4@b2x2w1"


def test_profiles_already_stored_are_not_counted_as_progress(tiny_llama, store_url):
    """A second `profile` with one more batch size runs only the new pairs, and its progress
    counts those (it printed "3/2" when the stored pairs ran through the count as well)."""
    import subprocess
    import sys

    store = Store(store_url)
    ensure_variant(store, resolve_model(str(tiny_llama)), DENSE, CalibrationSpec())

    def profile(batches: str) -> str:
        argv = [sys.executable, "-m", "codesign.measurements", "profile", "--store", store_url]
        argv += ["--model", str(tiny_llama), "--batch-sizes", batches, "--prompt-len", "8"]
        argv += ["--decode-tokens", "2", "--repeats", "1", "--device", "cpu"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    profile("1")
    second = profile("1,2")
    assert "profiling 1 (variant, batch) pairs" in second and "1 already stored" in second
    assert "2/1" not in second and "(1/1" in second.replace("\n", " ")
    assert sorted(Store(store_url).profiles_frame()["batch_size"]) == [1, 2]


@pytest.mark.skipif(
    not os.environ.get("CODESIGN_TEST_POSTGRES_URL"),
    reason="no PostgreSQL server: .ci/run sets CODESIGN_TEST_POSTGRES_URL",
)
def test_a_cpu_profile_is_stored_on_postgresql(tiny_llama):
    """PostgreSQL enforces column lengths (SQLite does not): a CPU profile's memory method, 163
    characters, was refused by schema 2's VARCHAR(100), and `profile` ended in a traceback."""
    import subprocess
    import sys

    from codesign.testing.postgres import fresh_database

    url = fresh_database(os.environ["CODESIGN_TEST_POSTGRES_URL"], "codesign_profile")
    ensure_variant(Store(url), resolve_model(str(tiny_llama)), DENSE, CalibrationSpec())
    argv = [sys.executable, "-m", "codesign.measurements", "profile", "--store", url]
    argv += ["--model", str(tiny_llama), "--batch-sizes", "1", "--prompt-len", "8"]
    argv += ["--decode-tokens", "2", "--repeats", "1", "--device", "cpu"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    profiles = Store(url).profiles()
    assert len(profiles) == 1 and len(profiles[0][0].memory_method) > 100
