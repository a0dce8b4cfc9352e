"""The one place a number from the user is checked: every numeric flag declares its type and
range here (``type=Number(...)`` in argparse), so a bad value is refused while the command line
is parsed, before anything is opened, created or measured, in one line naming the flag, and
``--help`` states each flag's range from the same declaration.

Finite numbers only, unless a flag says otherwise; integers are exact (``1e3`` is 1000,
``2.5`` is refused); every range is bounded above, because a value a machine cannot hold
(``--batch 99999999999999999999``) fails later as an overflow deep inside a library.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

SEED_MAX = 2**32 - 1  # numpy's and Optuna's samplers take seeds in [0, 2**32 - 1]


def _fmt(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Number:
    """An argparse ``type=`` for a bounded number: ``Number(int, 1, 65536)``.

    low/high: inclusive bounds unless ``above``/``below`` make them strict; ``even``: only
    even integers. The message names the range; argparse adds the flag's name."""

    kind: type = int
    low: float | None = None
    high: float | None = None
    above: bool = False  # low is a strict bound (> low)
    below: bool = False  # high is a strict bound (< high)
    even: bool = False

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return self.describe()

    def describe(self) -> str:
        """The range in words: "an integer from 1 to 65,536", "a number > 0 and ≤ 1e+06"."""
        noun = "an even integer" if self.even else "an integer" if self.kind is int else "a number"
        low, high = self.low, self.high
        if low is not None and high is not None and not (self.above or self.below):
            return f"{noun} from {_fmt(low)} to {_fmt(high)}"
        parts = []
        if low is not None:
            parts.append(f"{'>' if self.above else '≥'} {_fmt(low)}")
        if high is not None:
            parts.append(f"{'<' if self.below else '≤'} {_fmt(high)}")
        return f"{noun} {' and '.join(parts)}".strip()

    def __call__(self, text: str) -> int | float:
        value = self._parse(str(text).strip())
        if value is None or not self._in_range(value):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}")
        return value

    def check(self, value: int | float, name: str) -> int | float:
        """The same rule for a value that did not come through argparse (a default, a field)."""
        from codesign.errors import CodesignError

        if not self._in_range(value):
            raise CodesignError(f"{name} must be {self.describe()}, got {value!r}")
        return value

    def parse(self, text: str, name: str) -> int | float:
        """A value written in text outside argparse (``SUITE=N``, a file): one-line error."""
        from codesign.errors import CodesignError

        value = self._parse(str(text).strip())
        if value is None or not self._in_range(value):
            raise CodesignError(f"{name} must be {self.describe()}, got {text!r}")
        return value

    def _parse(self, text: str) -> int | float | None:
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        if self.kind is not int:
            return number
        try:
            exact = int(text)  # exact for long integers that a float would round
        except ValueError:
            if not number.is_integer():
                return None
            exact = int(number)
        return exact

    def _in_range(self, value: float) -> bool:
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        if self.kind is int and (not float(value).is_integer() or (self.even and value % 2)):
            return False
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.below else value > self.high)
        )


# the ranges codesign's flags share, declared once
COUNT = Number(int, 1, 1_000_000)  # trials, items, repeats
TOKENS = Number(int, 1, 1_048_576)  # prompt and generated lengths (2**20)
BATCH = Number(int, 1, 65_536)
WORKERS = Number(int, 1, 1_024)
SEED = Number(int, 0, SEED_MAX)
GIGABYTES = Number(float, 0, 1e6, above=True)  # memory, up to a petabyte
FRACTION = Number(float, 0, 1)


def distinct(items: list, flag: str) -> list:
    """A comma list without repeats: ``--bits 3,3`` or ``--suites ethics,ethics`` names an item
    twice, which is nearly always a typo, and would run or store the same thing twice."""
    from codesign.errors import CodesignError

    seen = set()
    for item in items:
        if item in seen:
            raise CodesignError(f"{flag} names {item!r} twice")
        seen.add(item)
    return items
