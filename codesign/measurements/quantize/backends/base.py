"""The interface every quantization backend implements, and the registry that lists them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from codesign.registry import Registry


@dataclass(frozen=True)
class QuantRequest:
    """Everything a backend needs to quantize one variant."""

    method: str
    bits: int
    group_size: int | None
    dense_dir: Path
    out_dir: Path
    token_ids: list[list[int]]
    device: str
    dtype: str | None = None  # the arithmetic dtype of the quantization; None: the backend's
    # calibration windows per forward pass; None: all of them when equally long (codesign's
    # are), which gives the same statistics in wider matrix products than one window at a time
    calibration_batch: int | None = None

    @property
    def batch(self) -> int:
        """The calibration batch size the backend passes to its library."""
        if self.calibration_batch is not None:
            return self.calibration_batch
        ids = self.token_ids
        return len(ids) if ids and len({len(x) for x in ids}) == 1 else 1


@dataclass
class LoadedModel:
    """A variant loaded for inference, with what its linear layers really run."""

    model: Any
    tokenizer: Any
    kernel: str
    real_low_bit: bool
    dtype: str


class Quantizer(Protocol):
    name: str

    def version(self) -> str: ...

    def supports(self, method: str, bits: int) -> bool: ...

    def quantize_dtype(self, method: str, device: str) -> str | None:
        """The arithmetic dtype this backend quantizes in on ``device`` when it is chosen by
        codesign (it joins the variant's recipe); None: the library's own default."""
        ...

    def quantize(self, request: QuantRequest) -> None: ...

    def load(self, path: Path, device: str) -> LoadedModel: ...


QUANTIZERS: Registry[Quantizer] = Registry("quantization backend")

# Lines the quantization libraries log on import or load that tell a user nothing they can act
# on: torch's pytree deprecation notes (torchao), torchao's missing CUDA extensions on a CPU,
# tokenicer's pad-token fix, accelerate's note on untied weights while placing a model.
NOISY_LOGGERS = ("torch.utils._pytree", "torchao", "tokenicer", "accelerate.utils.modeling")


def quiet_library_logs() -> None:
    """Raise those loggers to ERROR (``CODESIGN_VERBOSE=1`` keeps everything)."""
    if os.environ.get("CODESIGN_VERBOSE"):
        return
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
