"""Per-PE cost by array shape from Bit Fusion's whole synthesis table: the table agrees with
the figures calibration.py took from it, and the shape fit predicts shapes it never saw."""

from __future__ import annotations

import pytest

from codesign.simulators import calibration as cal
from codesign.simulators import pe_shape


def test_the_shipped_table_holds_calibrations_4x4_rows():
    rows = pe_shape.synthesis_rows().set_index(["n", "m", "kind"])
    for bits, figure in cal.FIXED_PE_AREA_UM2.items():
        assert rows.loc[(4, 4, f"{bits}/{bits}"), "area_um2"] == pytest.approx(figure.value)
    for bits, figure in cal.FUSION_UNIT_DYNAMIC_UW.items():
        assert rows.loc[(4, 4, f"{bits}/2"), "dynamic_uw"] == pytest.approx(figure.value)
    assert len(rows) == 15 * 7  # every shape, every PE kind, duplicates counted once


@pytest.mark.parametrize("metric", ["area_um2", "dynamic_uw"])
def test_held_out_shapes_meet_the_target_and_beat_one_shape_for_all(metric):
    held = pe_shape.leave_one_shape_out(metric)["error_pct"].abs()
    assert held.median() <= pe_shape.TARGET_MEDIAN_PCT
    assert held.max() < pe_shape.one_shape_error(metric).max()


def test_per_pe_area_falls_with_rows_as_the_table_shows():
    fit = pe_shape.fit_shape(pe_shape.synthesis_rows(), "area_um2")
    assert fit.a < 0  # 16 x 1 is cheaper per PE than 1 x 1
    single = fit.per_pe("8/8", 1, 1)
    assert fit.per_pe("8/8", 16, 1) < single
