"""Rows a user cannot tell apart are one Pareto configuration: the same members, unit
parameters and outcomes under another vote rule or another unit family are listed as its
equivalent choices, and the table names them with ≡."""

from __future__ import annotations

from codesign.search.export import _unit, _vote, collapse_equivalent

OUTCOME = {"trust": 61.5, "latency_ms": 546.0, "energy_mj": 6890.0, "area_mm2": 24.1}


def _row(trial: int, unit: str, vote: str = "majority", **outcome) -> dict:
    return {
        "trial": trial,
        "variant_keys": ["gptq-w4", "gptq-w3"],
        "ensemble_size": 2,
        "unit": unit,
        "unit_params": {"array.rows": 256, "array.cols": 512, "sram.act_kb": 512},
        "tech_nm": 45.0,
        "vote_rule": vote,
        "schedule": "cascade",
        "cascade_order": "desc",
        **{**OUTCOME, **outcome},
    }


def test_unit_families_priced_alike_collapse_into_one_row_naming_both():
    rows = collapse_equivalent(
        [_row(1, "bitplane"), _row(2, "stripes"), _row(3, "stripes", "weighted")]
    )
    assert len(rows) == 1 and rows[0]["n"] == 1
    assert [e["trial"] for e in rows[0]["equivalent_choices"]] == [2, 3]
    assert _unit(rows[0]) == "bitplane≡stripes 256×512 512K"
    assert _vote(rows[0]) == "maj≡wtd"


def test_rows_that_differ_in_an_outcome_or_in_their_parameters_stay_apart():
    other_size = _row(3, "stripes")
    other_size["unit_params"] = {**other_size["unit_params"], "array.rows": 128}
    rows = collapse_equivalent(
        [_row(1, "bitplane"), _row(2, "stripes", latency_ms=547.0), other_size]
    )
    assert [r["trial"] for r in rows] == [1, 2, 3]
    assert all("equivalent_choices" not in r for r in rows)


def test_the_plot_legend_names_the_unit_families_a_marker_stands_for():
    from codesign.search.plots import _unit_label

    rows = collapse_equivalent(
        [_row(1, "bitplane"), _row(2, "stripes"), _row(3, "bitfusion", latency_ms=600.0)]
    )
    assert _unit_label("bitplane", rows) == "Pareto, unit bitplane (≡ stripes on 1 row)"
    assert _unit_label("bitfusion", rows) == "Pareto, unit bitfusion"
