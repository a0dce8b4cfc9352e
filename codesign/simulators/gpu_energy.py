"""GPU energy checked against measured energy: ML.ENERGY's H100 rows and the power model fitted
to them.

The ML.ENERGY Leaderboard (v3) measures GPU energy with Zeus (NVML energy counters) while vLLM
0.11.1 serves LM Arena chat prompts at a fixed maximum batch; per configuration it publishes
the mean batch, the mean output length, the median inter-token latency (one decode step), the
mean board power and the energy per output token. `reference_data/mlenergy_h100.csv` holds its
bf16 one-GPU H100 rows for the four models whose shapes are bundled (Llama-3.1-8B, Qwen3-8B,
14B and 32B), copied from the repository's JSON without change.

Rows used: batch at most MAX_BATCH. The leaderboard does not publish prompt lengths, so the KV
cache each step reads rests on an assumed prompt of PROMPT_TOKENS (plus half the mean output);
at batch 64 the KV cache is under a fifth of the bytes a step moves, at batch 512 as much as
the weights, so the larger batches would test that assumption more than the model.

Power model (what calibration.GPU_ENERGY holds): board power = idle + e_byte x DRAM bytes/s +
e_mac x MACs/s, i.e. energy per step = idle x step time + e_byte x bytes + e_mac x MACs, capped
at the board's TDP. Idle is not fitted: across these rows bytes/s moves only within 1.5-2.6 TB/s,
so a free idle term trades against e_byte (fitted free it lands at 241 W); it stays at
calibration.IDLE_POWER_FRACTION of TDP (a stated assumption). e_byte and e_mac are fitted by
least squares on measured power with the measured step time, so the power model is judged
apart from the latency model; `leave_one_model_out` refits without each model in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from codesign.simulators import calibration as cal
from codesign.simulators.design import DesignBatch
from codesign.simulators.ppa import evaluate
from codesign.simulators.spec import UnitSpec, load_unit
from codesign.simulators.variants import Variant
from codesign.simulators.workload import Workload, load_model

if TYPE_CHECKING:
    import pandas as pd

DATA_FILE = "mlenergy_h100.csv"
SOURCE = (
    "ML.ENERGY Leaderboard v3 (github.com/ml-energy/leaderboard @0cd52da, public/data/models/"
    "*__lm-arena-chat.json): vLLM 0.11.1, one H100 SXM, bf16, GPU energy measured by Zeus"
)
MAX_BATCH = 64
PROMPT_TOKENS = 256  # assumed: the leaderboard publishes output lengths, not prompt lengths
GPU = "h100"


@cache
def rows() -> pd.DataFrame:
    """The measured rows used (one GPU, batch <= MAX_BATCH)."""
    import pandas as pd

    root = resources.files("codesign.simulators.reference_data")
    with resources.as_file(root / DATA_FILE) as path:
        frame = pd.read_csv(path)
    used = (frame["num_gpus"] == 1) & (frame["max_num_seqs"] <= MAX_BATCH)
    return frame[used].reset_index(drop=True)


@dataclass(frozen=True)
class Step:
    """One decode step of a measured row as the model sees it."""

    batch: int
    dram_bytes: float
    macs: float
    latency_s: float  # modelled
    energy_j: float  # modelled, the unit as given


def model_step(row, unit: UnitSpec | None = None) -> Step:
    """The modelled decode step of one measured row at its mean batch and mean context."""
    spec = unit or load_unit(GPU)
    model = load_model(str(row["model"]))
    batch = int(round(float(row["avg_batch_size"])))
    context = PROMPT_TOKENS + int(float(row["avg_output_len"]) // 2)
    workload = Workload.decode(model, context, batch)
    out = evaluate(DesignBatch.from_specs([spec]), workload, [Variant.dense()])
    return Step(
        batch,
        float(out["dram_bytes"][0]),
        float(workload.gemms().macs.sum()),
        float(out["latency_s"][0]),
        float(out["energy_j"][0]),
    )


@cache
def steps() -> tuple[Step, ...]:
    return tuple(model_step(r) for r in rows().to_dict("records"))


@cache
def idle_w() -> float:
    return float(load_unit(GPU).params["power_w"]) * cal.IDLE_POWER_FRACTION.value


def fit_power(at: np.ndarray) -> tuple[float, float]:
    """(pJ per DRAM bit, pJ per MAC) fitted on the rows at positions `at`."""
    frame, found = rows(), steps()
    seconds = frame["median_itl_ms"].to_numpy(float)[at] * 1e-3
    bits = np.array([found[i].dram_bytes * 8 for i in at]) / seconds
    macs = np.array([found[i].macs for i in at]) / seconds
    dynamic = frame["avg_power_watts"].to_numpy(float)[at] - idle_w()
    coef, *_ = np.linalg.lstsq(np.column_stack([bits, macs]) * 1e-12, dynamic, rcond=None)
    return float(coef[0]), float(coef[1])


def step_energy_j(step: Step, seconds: float, pj_bit: float, pj_mac: float) -> float:
    """Energy of one step under the power model (not capped: these rows stay under TDP)."""
    return idle_w() * seconds + (step.dram_bytes * 8 * pj_bit + step.macs * pj_mac) * 1e-12


def leave_one_model_out() -> pd.DataFrame:
    """Every row predicted by the power model fitted on the other models' rows: power with the
    measured step time, energy per token with the modelled one (the model end to end)."""
    frame = rows().copy()
    found = steps()
    models = frame["model"].to_numpy()
    power, per_token = np.zeros(len(frame)), np.zeros(len(frame))
    for name in np.unique(models):
        pj_bit, pj_mac = fit_power(np.flatnonzero(models != name))
        for i in np.flatnonzero(models == name):
            measured_s = float(frame["median_itl_ms"].iloc[i]) * 1e-3
            power[i] = step_energy_j(found[i], measured_s, pj_bit, pj_mac) / measured_s
            modelled = step_energy_j(found[i], found[i].latency_s, pj_bit, pj_mac)
            per_token[i] = modelled / found[i].batch
    frame["power_w_held_out"] = power
    frame["energy_per_token_held_out"] = per_token
    return frame


def validate() -> pd.DataFrame:
    """Measured against modelled, per row: step time, board power and energy per token as the
    shipped h100 preset prices them, and the power model held out by model."""
    frame = leave_one_model_out()
    found = steps()
    frame["itl_ms_modelled"] = [s.latency_s * 1e3 for s in found]
    frame["power_w_modelled"] = [s.energy_j / s.latency_s for s in found]
    frame["energy_per_token_modelled"] = [s.energy_j / s.batch for s in found]
    measured = {
        "itl": frame["median_itl_ms"],
        "power": frame["avg_power_watts"],
        "energy": frame["energy_per_token_joules"],
    }
    frame["itl_error_pct"] = (frame["itl_ms_modelled"] / measured["itl"] - 1) * 100
    frame["power_error_pct"] = (frame["power_w_modelled"] / measured["power"] - 1) * 100
    frame["energy_error_pct"] = (frame["energy_per_token_modelled"] / measured["energy"] - 1) * 100
    frame["power_held_out_error_pct"] = (frame["power_w_held_out"] / measured["power"] - 1) * 100
    frame["energy_held_out_error_pct"] = (
        frame["energy_per_token_held_out"] / measured["energy"] - 1
    ) * 100
    return frame
