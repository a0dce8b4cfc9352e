"""A batch of designs evaluated at once gives exactly what a loop over single designs gives."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.simulators import SCHEDULES, DesignBatch, evaluate, load_unit, variants_from_bits
from codesign.simulators.spec import spec_from_mapping

from .conftest import accelerator

N = 24
VARIED = {
    "bitfusion": lambda r: {
        "array_rows": r.integers(4, 64, N),
        "array_cols": r.integers(4, 64, N),
        "clock_mhz": r.uniform(200, 1000, N),
        "sram_act_kb": r.choice([16.0, 64.0, 512.0], N),
        "tech_nm": r.choice([45.0, 28.0], N),
    },
    "stripes": lambda r: {
        "array_rows": r.integers(4, 64, N),
        "dram_bandwidth_gbs": r.uniform(10, 100, N),
        "serial_overhead": r.uniform(1.0, 1.5, N),
    },
    "bitplane": lambda r: {"array_cols": r.integers(4, 256, N), "max_bits": r.choice([8, 16], N)},
    "fixed8": lambda r: {"bits": r.choice([4, 8], N), "clock_mhz": r.uniform(100, 900, N)},
    "hetero-8-4-3": lambda r: {
        "sub_rows": r.integers(1, 32, (N, 3)),
        "sub_cols": r.integers(1, 32, (N, 3)),
    },
    "h100": lambda r: {
        "bandwidth_gbs": r.uniform(500, 5000, N),
        "peak_tflops": r.uniform(50, 1000, N),
    },
}


def one_by_one(spec, arrays: dict, work, variants, schedule, **kw):
    rows = []
    for i in range(N):
        single = {k: np.asarray(v)[i] for k, v in arrays.items()}
        out = evaluate(DesignBatch.from_spec(spec, n=1, **single), work, variants, schedule, **kw)
        rows.append(out)
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}


@pytest.mark.parametrize("unit", sorted(VARIED))
@pytest.mark.parametrize("schedule", SCHEDULES.names())
def test_batch_equals_scalar_loop(unit, schedule, decode, prefill):
    rng = np.random.default_rng(7)
    spec = load_unit(unit)
    arrays = VARIED[unit](rng)
    variants = variants_from_bits([3, 4, 8])
    for work in (decode, prefill):
        batch = evaluate(
            DesignBatch.from_spec(spec, **arrays),
            work,
            variants,
            schedule,
            agreement=0.7,
            members=True,
        )
        loop = one_by_one(spec, arrays, work, variants, schedule, agreement=0.7, members=True)
        assert set(batch) == set(loop)
        for key in batch:
            assert batch[key].shape[0] == N, key
            np.testing.assert_allclose(batch[key], loop[key], rtol=1e-12, err_msg=key)


def test_from_specs_pads_heterogeneous_sets_of_different_sizes(decode):
    one = spec_from_mapping(
        accelerator("heterogeneous", arrays=[{"bits": 8, "rows": 8, "cols": 8}]), "a"
    )
    two = spec_from_mapping(
        accelerator(
            "heterogeneous",
            arrays=[{"bits": 8, "rows": 8, "cols": 8}, {"bits": 4, "rows": 16, "cols": 8}],
        ),
        "b",
    )
    variants = variants_from_bits([4, 8])
    both = evaluate(DesignBatch.from_specs([one, two]), decode, variants, "partitioned")
    for i, spec in enumerate((one, two)):
        alone = evaluate(DesignBatch.from_specs([spec]), decode, variants, "partitioned")
        for key in both:
            np.testing.assert_allclose(both[key][i], alone[key][0], rtol=1e-12, err_msg=key)


def test_batch_holds_one_family():
    with pytest.raises(CodesignError, match="one family"):
        DesignBatch.from_specs([load_unit("fixed8"), load_unit("h100")])


def test_unknown_override_names_the_known_fields():
    with pytest.raises(CodesignError, match="array_rows"):
        DesignBatch.from_spec(load_unit("bitfusion"), array_row=[1, 2])


def test_outputs_are_one_array_entry_per_design(decode):
    designs = DesignBatch.from_spec(load_unit("stripes"), array_rows=np.arange(1, 101))
    out = evaluate(designs, decode, variants_from_bits([3, 4, 8]), "shared-fetch")
    assert all(v.shape == (100,) for v in out.values())
    assert np.all(np.diff(out["area_mm2"]) > 0)


def test_storage_layout_can_vary_per_design(decode):
    designs = DesignBatch.from_spec(load_unit("stripes"), weight_storage=["packed", "bitplane"])
    out = evaluate(designs, decode, variants_from_bits([3, 4, 8], "anyprec"))
    assert out["weight_bytes"][1] < out["weight_bytes"][0]
    assert out["latency_s"][0] == out["latency_s"][1]
