"""--limit and --suite-limit: a count, or 'all' for every item of every setting."""

from __future__ import annotations

import argparse

import pytest

from codesign.errors import CodesignError
from codesign.measurements.evaluate.cli import item_limit, suite_limits
from codesign.measurements.evaluate.suites import SUITES


def test_all_means_no_sampling():
    assert item_limit("all") is None and item_limit(" ALL ") is None
    assert item_limit("7") == 7
    with pytest.raises(argparse.ArgumentTypeError, match="or 'all'"):
        item_limit("0")


def test_suite_limit_takes_all_per_suite():
    suites = [SUITES.get("mmlu_ll"), SUITES.get("ood")]
    assert suite_limits(["mmlu_ll=all"], suites, 40) == {"mmlu_ll": None, "ood": 40}
    assert suite_limits(["ood=6"], suites, None) == {"mmlu_ll": None, "ood": 6}
    with pytest.raises(CodesignError, match="--suite-limit ood must be"):
        suite_limits(["ood=none"], suites, 40)


def test_limit_all_loads_every_item_a_sample_would_draw_from():
    ood = SUITES.get("ood")
    every, sample = ood.load(None, 0, None), ood.load(4, 0, None)
    keys = {ood.stored_key(it) for it in every.items}
    assert len(every.items) > len(sample.items)
    assert {ood.stored_key(it) for it in sample.items} <= keys
