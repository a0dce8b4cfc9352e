"""Regexes behind the label parser: refusal and "I don't know" phrases, answer cues, negation.

Kept apart from the precedence logic in ``labels.py`` so the phrase lists can grow (a new model's
way of refusing) without touching the rules. All patterns run case-insensitively on text whose
curly quotes and dashes were mapped to ASCII one character for one (so positions are kept).
"""

from __future__ import annotations

import re

# One character for one: string positions stay valid after normalising.
NORMALISE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u00a0": " ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\uff08": "(",
        "\uff09": ")",
    }
)

_FLAGS = re.IGNORECASE

# What may sit between an answer cue and the label: space, quotes, markdown, an opening bracket,
# a colon, and optionally the word "option"/"choice"/"letter" ("The answer is option (B)").
_FILL = r"""[\s"'`*_(\[{<:=#>-]*"""
SLOT = _FILL + r"(?:(?:option|choice|letter)\b" + _FILL + r")?"

_NOUN = (
    r"(?:answer|label|prediction|classification|verdict|judge?ment|output|response|choice"
    r"|option|sentiment|category|class)"
)
# "answer to the question", "sentiment of this review": one short prepositional phrase.
_PHRASE = r"(?:\s+(?:of|for|to|in)\s+(?:(?:the|this|that|each|given|your|my)\s+)?[\w'-]+)?"
_COPULA = (
    r"(?:[\s*_]*(?::|=|->|\bis\b(?:\s+(?:therefore|thus|clearly|definitely|probably|likely))?"
    r"|\b(?:would|will|should|must)\s+be\b))"
)
_VERB = (
    r"\bI\s*(?:would|'d|will|'ll)\s+(?:say|answer|choose|pick|select|go\s+with"
    r"|(?:label|classify|rate|judge)\s+(?:it|this)\s+as)\b"
)
# "answer" right before the label without a copula only opens a line or follows "final"/"my"
# ("Answer C", "Final answer (d)"), never mid-sentence ("someone might answer no").
_BARE_ANSWER = r"(?:(?:\A|\n)[\s*#>_\"']*|\b(?:my|final|correct|right|best)\s+)answer\b"
# Strong cues: the model says "this is my answer".
STRONG_CUE = re.compile(
    rf"(?:\b{_NOUN}s?{_PHRASE}{_COPULA}|{_BARE_ANSWER}|{_VERB}){SLOT}",
    _FLAGS,
)

# Weak cues: a copula right before the label ("It is wrong", "I think it's C", "classified as").
_ADVERB = (
    r"(?:\s+(?:definitely|clearly|probably|likely|certainly|most\s+likely|morally|ethically"
    r"|considered|classified\s+as|labell?ed\s+as|best\s+described\s+as))*"
)
WEAK_CUE = re.compile(
    rf"(?:\b(?:is|are|was|were|be|seems?|appears?|sounds?|looks?|as)\b{_ADVERB}|'s\b{_ADVERB})"
    rf"{SLOT}"
    r"|\b(?:is|are|was|were|does|do|did)(?=n't\b)",
    _FLAGS,
)

START = re.compile(r"\A" + SLOT, _FLAGS)

# A negation up to two words before a label flips it ("isn't wrong", "not morally wrong"):
# the mention becomes "not <label>" when that is a label, otherwise it is ignored.
NEGATION = re.compile(r"(?:(?<!\w)(?:not|never|nothing)|n't)(?:\s+[\w']+){0,2}?\s+\Z", _FLAGS)
NEGATION_WINDOW = 48

# Labels listed as alternatives ("positive or negative", "A, B or C") are not an answer.
LIST_GAP = re.compile(
    r"""[\s,/"'*()]*(?:(?:or|and|nor|vs\.?|versus|and/or)\b[\s,/"'*()]*)?\Z""", _FLAGS
)

_I = r"\bI\b\s*"
_CANT = r"(?:cannot|can'?t|can\s+not|could\s+not|couldn'?t|won'?t|will\s+not)"
_UNABLE = r"(?:(?:am|'m)\s+(?:not\s+able|unable)|(?:am|'m)\s+not\s+(?:going|willing)\s+to)"
_DONT = r"(?:do\s+not|don'?t)"
REFUSAL = re.compile(
    "|".join(
        [
            rf"{_I}{_CANT}\b",
            rf"{_I}{_UNABLE}\b",
            rf"{_I}(?:must|have\s+to|will|'ll)\s+(?:decline|refuse)\b",
            rf"{_I}(?:decline|refuse)\s+to\b",
            rf"{_I}{_DONT}\s+(?:have\s+(?:personal\s+)?(?:opinions|beliefs|feelings|views)"
            r"|feel\s+comfortable|make\s+(?:moral\s+)?judge?ments|engage)\b",
            rf"{_I}(?:am|'m)\s+(?:so\s+|very\s+|really\s+)?(?:sorry|afraid)\b,?\s*(?:but\s+)?"
            r"(?:I\b|as\b|this\b|that\b|it\b)",
            r"\bsorry,?\s+but\b",
            rf"{_I}apologi[sz]e\b",
            r"\bmy\s+apologies\b",
            r"\b(?:not|n't\s+be)\s+appropriate\s+for\s+me\b",
            r"\b(?:it\s+is|it's|it\s+would\s+be)\s+(?:not\s+appropriate|inappropriate)\b",
            r"\bas\s+an\s+AI(?:\s+(?:language\s+)?model|\s+assistant)?,?\s+I\s+"
            r"(?:cannot|can'?t|am\s+(?:not|unable)|do\s+not|don'?t)\b",
        ]
    ),
    _FLAGS,
)

IDK = re.compile(
    "|".join(
        [
            rf"{_I}{_DONT}\s+know\b",
            r"\bI\s*(?:am|'m)\s+(?:not\s+(?:sure|certain)|unsure|uncertain)\b",
            r"\bnot\s+(?:sure|certain)\b",
            r"\b(?:unsure|uncertain|unknown)\b",
            r"\b(?:I\s+have\s+)?no\s+idea\b",
            r"\b(?:cannot|can'?t|can\s+not)\s+be\s+determined\b",
            r"\bimpossible\s+to\s+(?:tell|say|determine|know)\b",
        ]
    ),
    _FLAGS,
)
