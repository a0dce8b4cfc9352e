"""The command line prints a labelled table for every bundled unit and schedule."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from codesign.simulators import SCHEDULES, bundled_units
from codesign.simulators.cli import main


@pytest.mark.parametrize("unit", bundled_units())
@pytest.mark.parametrize("schedule", SCHEDULES.names())
def test_every_bundled_unit_and_schedule_prints_a_table(unit, schedule, capsys):
    argv = ["--unit", unit, "--model", "smollm2-135m", "--bits", "3,4,8", "--schedule", schedule]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"modelled (analytical, {unit} spec)" in out
    assert f"ensemble, {schedule}" in out
    for pattern in (r"\d (s|ms|us) ", r"\d (J|mJ|uJ) |n/a", r"\d+ MB", r"mm\^2|n/a"):
        assert re.search(pattern, out), pattern


def test_issue_example_prints_latency_energy_area_memory(capsys):
    argv = ["--unit", "bitfusion", "--model", "smollm2-135m", "--bits", "3,4,8"]
    assert main([*argv, "--schedule", "shared-fetch"]) == 0
    out = capsys.readouterr().out
    for text in ("mJ", "mm^2", "MB", "ms", "gptq-w3-g128 alone", "not measured"):
        assert text in out


def test_all_schedules_at_once_and_cascade_agreement(capsys):
    assert main(["--unit", "stripes", "--schedule", "all", "--agreement", "0.9"]) == 0
    out = capsys.readouterr().out
    assert all(f"ensemble, {name}" in out for name in SCHEDULES.names())
    assert "worst case" not in out


def test_list_shows_units_schedules_and_models(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in [*bundled_units(), *SCHEDULES.names(), "smollm2-135m", "llama-2-13b"]:
        assert name in out


def test_model_may_be_a_config_json(tmp_path, capsys):
    config = {
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 256,
        "vocab_size": 500,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert main(["--unit", "h100", "--model", str(tmp_path)]) == 0
    assert "modelled (analytical, h100 spec)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--unit", "tpu9"], "unknown compute unit 'tpu9'"),
        (["--schedule", "round-robin"], "unknown schedule 'round-robin'"),
        (["--model", "gpt-7"], "unknown model 'gpt-7'"),
        (["--bits", "3,12"], "bits must be 1-8"),
        (["--set", "nonsense"], "--set wants field=value"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unit_that_cannot_run_a_member_says_so(capsys):
    assert main(["--unit", "fixed8", "--bits", "4,16"]) == 0
    out = capsys.readouterr().out
    assert "cannot run dense-16" in out and "n/a" in out


def test_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "codesign.simulators", "--unit", "a100", "--bits", "4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "modelled (analytical, a100 spec)" in done.stdout
