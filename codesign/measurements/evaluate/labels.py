"""One label parser for every suite: raw model text → a label, ``REFUSED`` or ``INVALID``.

Voting across precisions needs one definition of "the label this output gave", so every suite
parses with :func:`parse_label`. Matching is case-insensitive and word-bounded ("no" never
matches "not", "yes" never matches "yesterday"); multi-word labels win over the labels inside
them ("not wrong" is never also "wrong"); aliases map synonyms onto labels.

Precedence, first rule that applies wins:

1. Empty or whitespace-only text → ``INVALID``.
2. A label right after a strong answer cue ("The answer is D", "Answer: C", "Sentiment:
   positive", "The sentiment of the sentence is 'negative'", "I would say yes"); the first
   such cue in the text wins.
3. A label at the start of the text, after quotes, brackets or markdown ("No. The two
   questions ask different things..." → no, "(B)", "C) Paris").
4. An "I don't know" phrase ("I don't know", "not sure", "unknown", ...) → the ``idk`` label
   when one is given, else ``REFUSED``; then a refusal phrase ("I'm sorry, but I cannot",
   "As an AI language model, I cannot", "I can't help with", "I am unable to") → ``REFUSED``.
   So a stated answer (rules 2-3) beats a refusal, and a refusal beats a label that is merely
   mentioned ("I cannot say whether it is wrong" → ``REFUSED``).
5. A label right after a copula ("It is wrong", "I think it's C", "classified as negative");
   the first one wins.
6. Exactly one distinct label mentioned anywhere → that label.
7. Otherwise ``INVALID`` (no label, or several different labels and none in answer position).

Labels listed as alternatives ("positive or negative", "A, B or C") never count as an answer
position. A negation up to two words before a label ("isn't wrong", "not morally wrong",
"I don't think it's wrong") turns it into "not <label>" when that is a label, and otherwise
drops the mention ("The answer is not A"). Single-letter labels (MMLU "A".."E") must be
uppercase or bracketed ("(b)", "b)"), or closed by punctuation in an answer position; the
article "A" starting a sentence ("A good idea ...") and the pronoun "I" are not labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from codesign.measurements.evaluate import label_patterns as pat

REFUSED = "REFUSED"
INVALID = "INVALID"

__all__ = ["INVALID", "REFUSED", "parse_label", "parse_labels"]


def parse_label(
    text: str,
    labels: Sequence[str],
    *,
    idk: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """One of ``labels``, ``REFUSED`` or ``INVALID`` for one model output (rules: module doc).

    ``idk`` names the label that means "I don't know" (phrases such as "not sure" then map to
    it instead of ``REFUSED``); ``aliases`` maps synonyms to labels, e.g.
    ``{"entailment": "yes"}``. Never raises on any ``text``; raises ``ValueError`` for an
    inconsistent label set (duplicate labels, an alias or ``idk`` outside ``labels``).
    """
    if not isinstance(text, str) or not text.strip():
        return INVALID
    alias_items = tuple(sorted(aliases.items())) if aliases else ()
    return _matcher(tuple(labels), idk, alias_items).parse(text)


def parse_labels(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    idk: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[str]:
    """:func:`parse_label` over many outputs of one suite (same label set, one compiled regex)."""
    return [parse_label(t, labels, idk=idk, aliases=aliases) for t in texts]


@dataclass(frozen=True)
class _Mention:
    """A label found in the text; ``start`` is where its negation starts when it had one."""

    start: int
    end: int
    label: str
    label_start: int  # where the label itself starts (after any negation)
    slot_ok: bool  # may stand in an answer position
    free_ok: bool  # may count as a mention anywhere (rule 6)
    listed: bool = False


@lru_cache(maxsize=256)
def _matcher(labels: tuple[str, ...], idk: str | None, aliases: tuple[tuple[str, str], ...]):
    return _Matcher(labels, idk, aliases)


def _key(surface: str) -> str:
    return " ".join(surface.replace("-", " ").split()).casefold()


class _Matcher:
    """A label set compiled once: one alternation of every label and alias, longest first."""

    def __init__(
        self, labels: tuple[str, ...], idk: str | None, aliases: tuple[tuple[str, str], ...]
    ) -> None:
        _check_label_set(labels, idk, aliases)
        self.idk = idk
        surfaces = {_key(label): label for label in labels}
        for alias, label in aliases:
            surfaces.setdefault(_key(alias), label)
        self.by_key = surfaces
        ordered = sorted(surfaces, key=lambda k: (-len(k), k))
        self.group_label = {f"s{i}": surfaces[k] for i, k in enumerate(ordered)}
        alternation = "|".join(f"(?P<s{i}>{_surface_regex(k)})" for i, k in enumerate(ordered))
        self.regex = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
        self.letters = {k for k in surfaces if len(k) == 1 and k.isalpha()}

    def parse(self, raw: str) -> str:
        text = raw.translate(pat.NORMALISE)
        mentions = self._mentions(text)
        for slots in (_slots(pat.STRONG_CUE, text), _slots(pat.START, text)):
            found = _first_in(mentions, slots)
            if found is not None:
                return found
        if self.idk is not None and _phrase(pat.IDK, text, mentions):
            return self.idk
        if _phrase(pat.IDK, text, mentions) or _phrase(pat.REFUSAL, text, mentions):
            return REFUSED
        found = _first_in(mentions, _slots(pat.WEAK_CUE, text))
        if found is not None:
            return found
        distinct = {m.label for m in mentions if m.free_ok}
        return distinct.pop() if len(distinct) == 1 else INVALID

    def _mentions(self, text: str) -> list[_Mention]:
        found: list[_Mention] = []
        for match in self.regex.finditer(text):
            mention = self._mention(text, match)
            if mention is not None:
                found.append(mention)
        return _mark_lists(text, found)

    def _mention(self, text: str, match) -> _Mention | None:
        label = self.group_label[match.lastgroup]
        start, end = match.span()
        slot_ok = free_ok = True
        if _key(match.group()) in self.letters:
            slot_ok, free_ok = _letter_context(text, start, end)
        negation = pat.NEGATION.search(text, max(0, start - pat.NEGATION_WINDOW), start)
        if negation is None:
            return _Mention(start, end, label, start, slot_ok, free_ok)
        flipped = self.by_key.get(_key("not " + label))
        if flipped is None:
            return None
        return _Mention(negation.start(), end, flipped, start, True, True)


def _surface_regex(key: str) -> str:
    return r"[\s-]+".join(re.escape(word) for word in key.split(" "))


def _check_label_set(
    labels: tuple[str, ...], idk: str | None, aliases: tuple[tuple[str, str], ...]
) -> None:
    keys = [_key(label) if isinstance(label, str) else "" for label in labels]
    if not labels or any(not k for k in keys):
        raise ValueError(f"labels must be non-empty strings, got {labels!r}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"labels must differ ignoring case and spacing, got {labels!r}")
    if {REFUSED.casefold(), INVALID.casefold()} & set(keys):
        raise ValueError(f"{REFUSED!r} and {INVALID!r} are reserved, not labels")
    if idk is not None and idk not in labels:
        raise ValueError(f"idk label {idk!r} is not one of {labels!r}")
    for alias, label in aliases:
        if label not in labels or not _key(alias):
            raise ValueError(f"alias {alias!r} → {label!r} does not name one of {labels!r}")


_CLOSED = re.compile(r"""[ \t]*(?:[)\]}.,:;!?"'`*\n\r]|\Z)""")
_SENTENCE_START = re.compile(r"""(?:\A|[.!?\n])[ \t"'*_(\[]*\Z""")


def _letter_context(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(slot_ok, free_ok) for a one-letter label: "(b)" or "B" yes, the article "A good" no."""
    letter = text[start:end]
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    bracketed = (bool(before) and before in "([{") or (bool(after) and after in ")]}")
    closed = _CLOSED.match(text, end) is not None
    rest = text[end : end + 2]
    word_follows = len(rest) == 2 and rest[0].isspace() and rest[1].isalpha()
    pronoun = letter in "Ii" and (word_follows or after == "'")
    sentence_start = _SENTENCE_START.search(text, max(0, start - 16), start) is not None
    article = letter in "Aa" and sentence_start and word_follows and rest[1].islower()
    plain = letter.isupper() and not pronoun and not article
    return bracketed or closed or plain, bracketed or plain


def _mark_lists(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Flag mentions of different labels joined only by commas, "or", "and", "/"."""
    listed = [False] * len(mentions)
    for i in range(len(mentions) - 1):
        a, b = mentions[i], mentions[i + 1]
        if a.label != b.label and pat.LIST_GAP.fullmatch(text, a.end, b.start):
            listed[i] = listed[i + 1] = True
    return [
        replace(m, listed=True) if flag else m for m, flag in zip(mentions, listed, strict=True)
    ]


def _slots(regex, text: str) -> set[int]:
    return {match.end() for match in regex.finditer(text)}


def _first_in(mentions: list[_Mention], slots: set[int]) -> str | None:
    for m in mentions:
        if m.start in slots and m.slot_ok and not m.listed:
            return m.label
    return None


def _phrase(regex, text: str, mentions: list[_Mention]) -> bool:
    """A phrase match that is not itself part of a label ("unknown" as a label stays a label)."""
    for match in regex.finditer(text):
        s, e = match.span()
        if not any(m.label_start < e and s < m.end for m in mentions):
            return True
    return False
