"""How far a variant's weights move the model: relative logits error against the dense model.

‖logits(variant) − logits(dense)‖ / ‖logits(dense)‖ over every position of a fixed probe: 4
windows of 128 tokens of the offline calibration text (Python standard-library docstrings)
drawn with seed 1000 (the quantizers calibrate on seed 0's windows; the pools may overlap). Both
models run in the same dtype on the same device, so the figure compares weights, not
arithmetic. It is stored per variant (`variant_metrics`) and reported beside trust, so nested
and independent members of one width can be set side by side.
"""

from __future__ import annotations

from typing import Any

from codesign.measurements.quantize.calibration_text import CalibrationSpec, calibration_token_ids

LOGITS_ERROR = "relative_logits_error"
PROBE = CalibrationSpec(n_samples=4, seq_len=128, seed=1000)


def probe_ids(tokenizer) -> Any:
    import torch

    return torch.tensor(calibration_token_ids(PROBE, tokenizer), dtype=torch.long)


def logits(model, ids) -> Any:
    """Float32 logits of the probe, one window at a time (keeps memory to one window)."""
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        return torch.cat([model(row[None].to(device)).logits.float().cpu() for row in ids])


def relative_error(reference, other) -> float:
    return float((other - reference).norm() / reference.norm())


def describe(runtime: str) -> dict[str, Any]:
    return {"probe": PROBE.describe(), "runtime": runtime}
