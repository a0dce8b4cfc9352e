"""Every registered suite declares what the rest of codesign needs of it, and a new trust suite is
one file: registered here inside the test (on data an existing loader reads), it is run by
`evaluate` on a tiny model, scored from the store, counted into trust and titled in the report,
with no other file edited."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from codesign.measurements.cli import main as measurements_main
from codesign.measurements.evaluate.datasets import DATASETS, load_suite_data
from codesign.measurements.evaluate.suites import SUITES, Suite, SuiteData, SuiteItem, trust_suites
from codesign.measurements.evaluate.suites.base import accuracy, refusal_rate, source_of, wrap
from codesign.report.data import short, title
from codesign.scoring.stored import load_predictions
from codesign.scoring.variants import variant_scores
from codesign.store import Store

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


class StyleFewWords(Suite):
    """A test-only trust suite: style-shifted sentiment with a one-word instruction."""

    name = "test_style_words"
    perspective = "test_style"
    title = "Style robustness (test suite)"
    short = "style-t"
    order = 45
    trust = True
    datasets = ("ood_style",)
    max_new_tokens = 4
    label_set = ("negative", "positive")

    def load(self, limit, seed, sources=None) -> SuiteData:
        items, src = load_suite_data(
            "ood_style", source=source_of(sources, "ood_style"), limit=limit, seed=seed
        )
        return SuiteData(wrap("style", items), [src])

    def instruction(self, it: SuiteItem) -> str:
        return "Answer 'positive' or 'negative'."

    def user_text(self, it: SuiteItem) -> str:
        return str(it.item.fields["sentence"])

    def score(self, items: Sequence[SuiteItem], labels: Sequence[str]) -> dict[str, float]:
        return {"score": 100 * accuracy(items, labels), "refusal_rate": refusal_rate(labels)}


@pytest.fixture
def new_suite():
    SUITES.add(StyleFewWords.name, StyleFewWords())
    yield StyleFewWords.name
    SUITES.remove(StyleFewWords.name)


def test_a_new_trust_suite_is_one_file(new_suite, tiny_llama, store_url, capsys):
    assert suite_problems(SUITES.get(new_suite), new_suite) == []
    assert new_suite in trust_suites()
    argv = ["evaluate", "--model", str(tiny_llama), "--method", "gptq", "--bits", "4"]
    argv += ["--calib-samples", "4", "--calib-seq-len", "32", "--suites", new_suite]
    argv += ["--limit", "3", "--max-batch-tokens", "256", "--store", store_url]
    assert measurements_main(argv) == 0
    assert new_suite in capsys.readouterr().out  # the summary table has its column
    preds = load_predictions(Store(store_url))
    assert len(preds.members) == 2 and len(preds.suites[new_suite].items) > 0
    scores = variant_scores(preds)
    mine = scores[(scores["suite"] == new_suite) & (scores["metric"] == "score")]
    assert list(mine["perspective"].unique()) == ["test_style"] and len(mine) == 2
    assert title(new_suite) == StyleFewWords.title and short(new_suite) == "style-t"
