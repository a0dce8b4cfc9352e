"""Shared helpers for the simulators' tests: small specs and a decode workload."""

from __future__ import annotations

import pytest

from codesign.simulators import Workload, load_model


def accelerator(family: str, **fields) -> dict:
    """A minimal accelerator spec mapping at Bit Fusion's calibration point (45 nm, 500 MHz)."""
    spec = {
        "name": f"test-{family}",
        "family": family,
        "clock_mhz": 500,
        "tech_nm": 45,
        "array": {"rows": 16, "cols": 16},
        "sram": {"weight_kb": 64, "act_kb": 64},
        "dram": {"bandwidth_gbs": 25.6},
    }
    if family == "heterogeneous":
        del spec["array"]
    spec.update(fields)
    return spec


@pytest.fixture(scope="session")
def smollm():
    return load_model("smollm2-135m")


@pytest.fixture(scope="session")
def decode(smollm):
    return Workload.decode(smollm, context=512, batch=1)


@pytest.fixture(scope="session")
def prefill(smollm):
    return Workload.prefill(smollm, tokens=128, batch=1)
