"""The model reproduces its published calibration figures within 5% (Bit Fusion per-PE
synthesis; Horowitz ISSCC 2014 per-operation energies), and every constant names a source."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.simulators import DesignBatch
from codesign.simulators import calibration as cal
from codesign.simulators.spec import spec_from_mapping

from .conftest import accelerator

BITFUSION_PE = [  # (label, spec fields, published area um^2, published power uW)
    ("fixed 8-bit", {"family": "fixed", "bits": 8, "act_bits": 8}, 687.6, 171.8),
    ("fixed 4-bit", {"family": "fixed", "bits": 4, "act_bits": 4}, 282.2, 67.9),
    ("fixed 2-bit", {"family": "fixed", "bits": 2, "act_bits": 2}, 124.9, 31.6),
    (
        "fusible 8->2-bit",
        {"family": "fusible", "brick_bits": 2, "max_bits": 8, "act_bits": 8},
        1733.0,
        344.3,
    ),
]


def within(value: float, published: float, tolerance: float = 0.05) -> bool:
    return abs(value - published) <= tolerance * abs(published)


def pe_figures(fields: dict) -> tuple[float, float]:
    fields = dict(fields)
    spec = spec_from_mapping(accelerator(fields.pop("family"), **fields), "test")
    rates = DesignBatch.from_specs([spec]).rates()
    return float(rates.pe_area_um2[0, 0]), float(rates.pe_power_uw[0, 0])


@pytest.mark.parametrize(("label", "fields", "area", "power"), BITFUSION_PE)
def test_pe_area_and_power_reproduce_bit_fusion_synthesis(label, fields, area, power):
    modelled_area, modelled_power = pe_figures(fields)
    assert within(modelled_area, area), (label, modelled_area, area)
    assert within(modelled_power, power), (label, modelled_power, power)


def test_heterogeneous_sub_arrays_cost_like_fixed_pes():
    spec = spec_from_mapping(
        accelerator(
            "heterogeneous",
            act_bits=8,
            arrays=[{"bits": 8, "rows": 4, "cols": 4}],
        ),
        "test",
    )
    rates = DesignBatch.from_specs([spec]).rates()
    assert within(float(rates.pe_area_um2[0, 0]), 687.6)
    assert within(float(rates.pe_power_uw[0, 0]), 171.8)


def test_pe_power_scales_with_clock_and_area_does_not():
    fields = {"family": "fixed", "bits": 8, "act_bits": 8, "clock_mhz": 1000}
    area, power = pe_figures(fields)
    assert within(area, 687.6)
    assert within(power, 2 * 171.8)


def test_integer_operation_energies_match_horowitz():
    assert within(float(cal.int_add_pj(8)), 0.03)
    assert within(float(cal.int_mult_pj(8)), 0.2)
    # quadratic multiplier scaling from the 8-bit point predicts the published 32-bit figure
    assert within(float(cal.int_mult_pj(32)), cal.INT32_MULT_PJ.value)


def test_fp16_pe_is_horowitz_multiply_plus_add():
    spec = spec_from_mapping(accelerator("fixed", bits=16, act_bits=16), "test")
    rates = DesignBatch.from_specs([spec]).rates()
    assert within(float(rates.pj_per_mac[0, 0, 16]), 1.1 + 0.4)
    assert within(float(rates.pe_area_um2[0, 0]), 1640.0 + 1360.0)


def test_memory_access_energies_match_horowitz():
    assert within(float(cal.sram_pj_per_bit(8)) * 32, 5.0)  # 32-bit read, 8 KB
    assert within(float(cal.sram_pj_per_bit(32)) * 64, 20.0)  # 64-bit read, 32 KB
    assert within(float(cal.sram_pj_per_bit(1024)) * 64, 100.0, 0.15)  # 1 MB, stated 15%
    assert within(cal.dram_pj_per_bit_default() * 32, 640.0)


def test_bundled_units_use_horowitz_dram_energy(decode):
    from codesign.simulators import evaluate, load_unit, variants_from_bits

    designs = DesignBatch.from_specs([load_unit("fixed8")])
    out = evaluate(designs, decode, variants_from_bits([8]))
    per_bit = out["dram_energy_j"][0] / (out["dram_bytes"][0] * 8) * 1e12
    assert within(per_bit * 32, 640.0)


def test_technology_scaling_is_identity_at_the_calibration_node():
    assert float(cal.tech_area_scale(45)) == 1.0
    assert float(cal.tech_energy_scale(45)) == 1.0
    assert float(cal.tech_area_scale(22.5)) == pytest.approx(0.25)


def test_every_calibration_constant_names_its_source():
    figures = [v for v in vars(cal).values() if isinstance(v, cal.Figure)]
    for table in (cal.FIXED_PE_AREA_UM2, cal.FIXED_PE_POWER_UW):
        figures.extend(table.values())
    for sheet in cal.GPU_DATASHEETS.values():
        figures.extend(sheet.values())
    assert len(figures) > 30
    assert all(f.source and f.unit is not None for f in figures)
    assumptions = [f for f in figures if f.source == cal.ASSUMPTION]
    assert all(f.note for f in assumptions)


def test_fixed_pe_interpolation_passes_through_the_published_points():
    bits = np.array([2.0, 4.0, 8.0])
    assert np.allclose(cal.fixed_pe_um2(bits, bits), [124.9, 282.2, 687.6])
    assert np.allclose(cal.fixed_pe_pj(bits, bits) * 500, [31.6, 67.9, 171.8])
