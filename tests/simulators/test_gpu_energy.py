"""GPU energy against ML.ENERGY's measured H100 energy: the shipped constants are the fit, and
the power model held out by model stays where it was measured (a regression bound, not the
issue's target: issue 38 asks for the comparison and a held-out fit, and names no figure)."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.simulators import calibration as cal
from codesign.simulators import gpu_energy

HELD_OUT_MEDIAN_PCT = 15.0  # measured 9.8 % on 2026-12-07
HELD_OUT_MAX_PCT = 30.0  # measured 22.7 %


def test_shipped_h100_energies_are_the_fit_on_every_measured_row():
    pj_bit, pj_mac = gpu_energy.fit_power(np.arange(len(gpu_energy.rows())))
    shipped = cal.GPU_ENERGY["h100-sxm"]
    assert shipped["dram_pj_per_bit"].value == pytest.approx(pj_bit, rel=1e-3)
    assert shipped["mac_pj"].value == pytest.approx(pj_mac, rel=1e-3)
    assert "ML.ENERGY" in shipped["mac_pj"].source


def test_rows_are_the_leaderboards_one_gpu_h100_rows_up_to_batch_64():
    rows = gpu_energy.rows()
    assert set(rows["model"]) == {"llama-3.1-8b", "qwen3-8b", "qwen3-14b", "qwen3-32b"}
    assert len(rows) == 15 and rows["max_num_seqs"].max() <= gpu_energy.MAX_BATCH
    # the leaderboard's energy per token is its power over the tokens a step makes
    implied = rows["avg_power_watts"] * rows["median_itl_ms"] * 1e-3 / rows["avg_batch_size"]
    assert np.all(np.abs(implied / rows["energy_per_token_joules"] - 1) < 0.1)


def test_energy_per_token_held_out_by_model_stays_within_its_measured_error():
    frame = gpu_energy.validate()
    err = frame["energy_held_out_error_pct"].abs()
    assert err.median() <= HELD_OUT_MEDIAN_PCT and err.max() <= HELD_OUT_MAX_PCT
    # the TDP rule this replaces put every row at about 700 W; measured board power is 427-610 W
    assert frame["avg_power_watts"].max() < 650
