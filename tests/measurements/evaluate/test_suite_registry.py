"""Every registered suite declares what the rest of codesign needs of it (a new trust suite
dropped in as one file is run end to end by tests/test_extensions.py)."""

from __future__ import annotations

import pytest

from codesign.measurements.evaluate.datasets import DATASETS
from codesign.measurements.evaluate.suites import SUITES, Suite, trust_suites

NEEDED = ("name", "perspective", "title", "short", "order", "datasets", "label_set", "kind")


def suite_problems(suite: Suite, key: str) -> list[str]:
    """What a registered suite lacks of what evaluate, scoring, the search and the report read."""
    problems = [f"no {attr}" for attr in NEEDED if not hasattr(suite, attr)]
    if problems:
        return problems
    if suite.name != key:
        problems.append(f"registered as {key!r} but named {suite.name!r}")
    if not suite.datasets or any(d not in DATASETS for d in suite.datasets):
        problems.append(f"datasets {suite.datasets!r} must name data sets of the catalog")
    if suite.kind not in ("generate", "loglik") or not suite.label_set:
        problems.append("kind must be generate or loglik, with a label set")
    if type(suite).score is Suite.score or type(suite).load is Suite.load:
        problems.append("must implement load and score")
    return problems


@pytest.mark.parametrize("name", SUITES.names())
def test_every_registered_suite_declares_what_the_rest_needs(name):
    assert suite_problems(SUITES.get(name), name) == []


def test_the_trust_perspectives_are_the_papers_four_in_display_order():
    assert trust_suites() == ("adv_robustness", "fairness", "ethics", "ood")
    perspectives = [SUITES.get(n).perspective for n in trust_suites()]
    assert len(set(perspectives)) == len(perspectives)


def test_a_suite_missing_an_attribute_is_caught():
    class Incomplete(Suite):
        name = "incomplete"
        perspective = "x"

    assert "no title" in suite_problems(Incomplete(), "incomplete")
