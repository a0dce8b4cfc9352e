"""``strict``: this project's own word-bounded label parser and the suites' own formulas.

The parser (codesign.measurements.evaluate.labels) maps a generation to a label only when
exactly one label word stands in it as a word ("no" never matches "not"), with refusal phrases
and "I don't know" recognised; the score formulas are each suite's ``score``: accuracy with
refusals counted wrong, fairness over answered items, OOD as the mean of style accuracy and
the knowledge score. The label stored at evaluation time is this parse, so nothing is re-parsed.
"""

from __future__ import annotations

from codesign.scoring.profiles.base import PROFILES, ScoringProfile


class Strict(ScoringProfile):
    name = "strict"
    title = "strict (codesign's word-bounded parser; suites' own formulas)"
    source = "codesign.measurements.evaluate.labels and each suite's score()"
    reparse = False


PROFILES.add(Strict.name, Strict())
