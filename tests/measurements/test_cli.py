"""Bad input gets one line on stderr and a non-zero exit, never a traceback; the store is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codesign.store import Store


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codesign.measurements", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:") and pattern in lines[0], lines[0]


@pytest.fixture
def seeded_store(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    store = Store(url)
    store.upsert_model("fp", "kept", "dense", "test", {})
    return url


def _fingerprint(url: str) -> dict:
    return Store(url).counts()


BAD_INPUTS = [
    (["quantize", "--model", "no-such-model"], "unknown model"),
    (["quantize", "--method", "gptq", "--bits", "5"], "not supported"),
    (["quantize", "--method", "awq", "--bits", "2"], "not supported"),
    (["quantize", "--method", "smoothquant"], "unknown method"),
    (["quantize", "--bits", "four"], "bad bits list"),
    (["quantize", "--calibration", "/nonexistent/calib.txt"], "cannot read calibration file"),
]


@pytest.mark.parametrize(("args", "pattern"), BAD_INPUTS)
def test_bad_input_is_one_line_and_keeps_the_store(args, pattern, seeded_store, tiny_llama):
    before = _fingerprint(seeded_store)
    if "--model" not in args:
        args = [*args, "--model", str(tiny_llama)]
    proc = _run(*args, "--store", seeded_store)
    _assert_one_line_error(proc, pattern)
    assert _fingerprint(seeded_store) == before


def test_an_unopenable_store_is_one_line(tmp_path):
    proc = _run("list", "--store", f"sqlite:///{tmp_path}/no/such/dir.db")
    _assert_one_line_error(proc, "no store file")


def test_a_newer_schema_is_one_line(seeded_store):
    from sqlalchemy import text

    with Store(seeded_store).engine.begin() as conn:
        conn.execute(text("update meta set value='7' where key='schema_version'"))
    proc = _run("list", "--store", seeded_store)
    _assert_one_line_error(proc, "newer than this codesign")


def test_bad_usage_is_one_line():
    proc = _run("quantize", "--group-size", "many")
    _assert_one_line_error(proc, "--group-size: must be auto, none or a power of two")


def test_help_explains_every_option():
    proc = _run("quantize", "--help")
    assert proc.returncode == 0
    for option in (
        "--model",
        "--method",
        "--bits",
        "--group-size",
        "--calibration",
        "--store",
        "--seeds",
        "--calib-samples",
        "--backend",
        "--device",
    ):
        assert option in proc.stdout
    assert "python-docstrings" in proc.stdout


def test_the_console_script_dispatches_to_the_stage():
    proc = subprocess.run(
        [sys.executable, "-m", "codesign.cli", "measurements", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "quantize" in proc.stdout
