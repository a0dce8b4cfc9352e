"""A scoring profile: how a raw generation becomes a label, and how labels become a score.

The same stored generations are scored under any profile: a profile re-parses the raw text
(never re-generates it) and applies its own formulas, so switching profile runs no model, and
voting (Algorithm 1) works on the labels the chosen profile parsed. A profile handles the
suites it knows by name and leaves any other suite to the suite's own parser and score, so a
new suite works under every profile from its first file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from codesign.measurements.evaluate.suites.base import Suite, SuiteItem
from codesign.registry import Registry

# A scorer may report how many of a suite's settings its formula scored by a stand-in rather
# than from answers (comp-trust's fairness: a setting with fewer than 3 known answers has its
# parity gaps counted as 0, the best value): every output marks a score that rests on one.
FALLBACK_SETTINGS = "fallback_settings"

Parser = Callable[[SuiteItem, str], str]
Scorer = Callable[[Sequence[SuiteItem], Sequence[str]], dict[str, float]]


class ScoringProfile:
    """Subclasses set ``name``, ``title`` and ``source``, and map suite names to their own
    ``parsers`` and ``scorers``."""

    name: ClassVar[str]
    title: ClassVar[str]  # one line for every output, e.g. "comp-trust (the paper's ...)"
    source: ClassVar[str]  # the code the definitions were read from, with its commit
    reparse: ClassVar[bool] = True  # False: the label stored at evaluation time is this parse
    parsers: ClassVar[dict[str, Parser]] = {}
    scorers: ClassVar[dict[str, Scorer]] = {}

    def rule(self, suite: Suite) -> str:
        """Which rule parses and scores ``suite`` under this profile: the profile's own where it
        declares one, else the suite's (said, so a fallback is never silent)."""
        own = f"the suite's own ({type(suite).__module__})"
        parse = self.parsers.get(suite.name)
        score = self.scorers.get(suite.name)
        parse_text = f"{parse.__module__}.{parse.__name__}" if parse else own
        score_text = f"{score.__module__}.{score.__name__}" if score else own
        return f"parse: {parse_text}; score: {score_text}"

    def parse(self, suite: Suite, it: SuiteItem, raw: str) -> str:
        """The label of one raw generation: one of the item's labels, REFUSED or INVALID."""
        parser = self.parsers.get(suite.name)
        return parser(it, raw) if parser else suite.parse(it, raw)

    def score(
        self, suite: Suite, items: Sequence[SuiteItem], labels: Sequence[str]
    ) -> dict[str, float]:
        """Metrics (scores 0–100, rates 0–1) with at least 'score' and 'refusal_rate'."""
        scorer = self.scorers.get(suite.name)
        return scorer(items, labels) if scorer else suite.score(items, labels)


PROFILES: Registry[ScoringProfile] = Registry("scoring profile")
DEFAULT_PROFILE = "comptrust"
