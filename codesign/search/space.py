"""The search space: registered parameter groups that draw one deployment from an Optuna trial.

A parameter group is one function `(trial, space, config)` that suggests its parameters with
the trial's own `suggest_*` calls and writes what it chose into `config`; groups run in their
`order`, so a later group may depend on an earlier one (conditional parameters). Adding a
parameter is one file in `codesign/search/parameters/` and one `@parameter_group` there.

The same code enumerates the space for `--exhaustive`: `enumerate_space` walks every branch of
the groups' decisions with a stand-in trial, so the enumerated space is the sampled space by
construction. Keep suggestions discrete (`suggest_categorical`, `suggest_int`) for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from codesign.registry import Registry
from codesign.simulators import UnitSpec


class TrialLike(Protocol):
    """The part of `optuna.Trial` a parameter group may use."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...

    def suggest_int(self, name: str, low: int, high: int, step: int = 1) -> int: ...


@dataclass(frozen=True)
class Knob:
    """One searched field of a compute unit: a dotted spec field and its grid of values."""

    name: str
    values: tuple[Any, ...]


DENSE = "dense"


@dataclass(frozen=True)
class Space:
    """What the parameter groups choose from (fixed for a study)."""

    ladders: Mapping[str, Mapping[int, tuple[str, ...]]]  # method -> bits -> member keys by seed
    dense: tuple[str, ...]  # the dense model's member key (empty when not measured)
    dense_alone: bool  # the dense baseline alone is a choice (method `dense`)
    vote_rules: tuple[str, ...]
    schedules: tuple[str, ...]
    cascade_orders: tuple[str, ...]
    units: Mapping[str, UnitSpec]  # candidate units by name
    knobs: Mapping[str, tuple[Knob, ...]]  # unit name -> searched fields (empty: as specified)

    @property
    def methods(self) -> list[str]:
        """Quantization methods, then `dense` (the baseline alone) when it was measured."""
        return list(self.ladders) + ([DENSE] if self.dense_alone else [])

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (part of a study's identity)."""
        return {
            "ladders": {
                m: {str(b): list(k) for b, k in lad.items()} for m, lad in self.ladders.items()
            },
            "vote_rules": list(self.vote_rules),
            "schedules": list(self.schedules),
            "cascade_orders": list(self.cascade_orders),
            "units": {n: dict(s.params) for n, s in self.units.items()},
            "knobs": {u: {k.name: list(k.values) for k in ks} for u, ks in self.knobs.items()},
        }


@dataclass
class Config:
    """One deployment configuration as the groups fill it in."""

    method: str = ""
    members: tuple[str, ...] = ()  # variant keys, highest precision first
    vote_rule: str = "majority"
    schedule: str = "sequential"
    cascade_order: str | None = None
    unit: str = ""
    unit_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParameterGroup:
    name: str
    order: int
    help: str
    suggest: Callable[[TrialLike, Space, Config], None]


PARAMETERS: Registry[ParameterGroup] = Registry("search parameter group")


def parameter_group(name: str, order: int, help: str) -> Callable:
    """Decorator: register `fn(trial, space, config)` as a parameter group run in `order`."""

    def add(fn: Callable[[TrialLike, Space, Config], None]) -> Callable:
        PARAMETERS.add(name, ParameterGroup(name, order, help, fn))
        return fn

    return add


def groups() -> list[ParameterGroup]:
    return sorted((PARAMETERS.get(n) for n in PARAMETERS), key=lambda g: g.order)


def suggest(trial: TrialLike, space: Space) -> Config:
    """One configuration from the trial: every registered group in order."""
    config = Config()
    for group in groups():
        group.suggest(trial, space, config)
    return config


class _Branch:
    """A stand-in trial that replays a prefix of choice indices, then takes the first option."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.taken: list[tuple[int, int]] = []  # (index chosen, options available)
        self.params: dict[str, Any] = {}

    def _choose(self, name: str, options: list[Any]) -> Any:
        depth = len(self.taken)
        index = self.prefix[depth] if depth < len(self.prefix) else 0
        self.taken.append((index, len(options)))
        self.params[name] = options[index]
        return options[index]

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._choose(name, list(choices))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1) -> int:
        return self._choose(name, list(range(low, high + 1, step)))


def enumerate_space(space: Space) -> Iterator[tuple[dict[str, Any], Config]]:
    """Every configuration of the space once, with the trial parameters that select it."""
    prefix: list[int] = []
    while True:
        branch = _Branch(prefix)
        config = suggest(branch, space)
        yield branch.params, config
        taken = list(branch.taken)
        while taken and taken[-1][0] + 1 >= taken[-1][1]:
            taken.pop()
        if not taken:
            return
        prefix = [i for i, _ in taken[:-1]] + [taken[-1][0] + 1]


def space_size(space: Space) -> int:
    return sum(1 for _ in enumerate_space(space))
