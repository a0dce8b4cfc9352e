"""The scoring stage: its command prints each variant's scores under a profile from the store
alone, names the rule that scored each suite (a profile's own or the suite's), and trust
averages the perspectives a store measured, so a store without one is not NaN."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from codesign.ensembles.scores import ensemble_scores
from codesign.measurements.evaluate.suites import SUITES, trust_suites
from codesign.scoring.cli import main
from codesign.scoring.profiles import PROFILES
from codesign.scoring.stored import load_predictions
from codesign.scoring.trust import mean_trust, perspectives
from codesign.testing.synthetic_store import build_store

VARIANTS = (("dense", 16), ("gptq", 4), ("gptq", 3))


@pytest.fixture(scope="module")
def three_perspectives(tmp_path_factory) -> str:
    """A store that measured three of the four trust perspectives (no fairness) and MMLU."""
    url = f"sqlite:///{tmp_path_factory.mktemp('scoring') / 's.db'}"
    build_store(url, variants=VARIANTS, suites=["adv_robustness", "ethics", "ood", "mmlu_ll"])
    return url


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_trust_is_the_mean_of_the_perspectives_measured(three_perspectives):
    from codesign.store import Store

    preds = load_predictions(Store(three_perspectives), profile="strict")
    names = perspectives(preds.suites)
    assert names == ("adv_robustness", "ethics", "ood")  # fairness is not measured here
    table = ensemble_scores(preds)
    assert table["trust"].notna().all()
    row = table.iloc[0]
    assert row["trust"] == pytest.approx(sum(row[p] for p in names) / 3)


def test_a_perspective_without_a_score_leaves_trust_undefined():
    assert math.isnan(mean_trust({"ethics": 50.0, "ood": math.nan}, ["ethics", "ood"]))
    assert math.isnan(mean_trust({}, []))
    assert mean_trust({"ethics": 50.0, "ood": 70.0}, ["ethics", "ood"]) == 60.0


def test_the_scoring_command_scores_every_variant(three_perspectives, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(["--store", three_perspectives, "--scoring", "comptrust"])
    assert code == 0
    for label in ("dense", "gptq-w4", "gptq-w3"):
        assert label in out
    # comptrust declares ethics' rule; MMLU log-likelihood falls back to the suite's, said so
    assert "codesign.scoring.profiles.comptrust.score_ethics" in out
    assert "mmlu_ll" in out and "score: the suite's own (codesign.measurements" in out


def test_the_scoring_command_prints_json(three_perspectives):
    code, out, _ = _run(["--store", three_perspectives, "--json"])
    assert code == 0
    rows = json.loads(out)
    scores = {(r["variant"], r["suite"]) for r in rows if r["metric"] == "score"}
    assert ("dense", "ethics") in scores and len(scores) == 3 * 4


def test_a_profile_says_which_rule_scores_a_suite():
    comptrust, strict = PROFILES.get("comptrust"), PROFILES.get("strict")
    for name in trust_suites():
        assert "comptrust" in comptrust.rule(SUITES.get(name))
        assert strict.rule(SUITES.get(name)).count("the suite's own") == 2
