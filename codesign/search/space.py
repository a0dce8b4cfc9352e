"""The search space: registered parameter groups that draw one deployment from an Optuna trial.

A parameter group is one function `(trial, space, config)` that suggests its parameters with
the trial's own `suggest_*` calls and writes what it chose into `config`; groups run in their
`order`, so a later group may depend on an earlier one (conditional parameters). A group
declares its command-line options (`Option`): the CLI adds them, `Settings.choices` carries
their values and `Space.choices` what each trial picks from. Adding a parameter is one file in
`codesign/search/parameters/` with one `@parameter_group`; its picks go to `Config.extra` and
from there, as `parameters`, into every trial's configuration, pareto.json/.csv and the deploy
files.

The same code enumerates the space for `--exhaustive`: `enumerate_space` walks every branch of
the groups' decisions with a stand-in trial, so the enumerated space is the sampled space by
construction. Keep suggestions discrete (`suggest_categorical`, `suggest_int`) for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from codesign.errors import CodesignError
from codesign.registry import Registry
from codesign.simulators import UnitSpec
from codesign.validation import distinct


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


@dataclass(frozen=True, kw_only=True)
class Space:
    """What the parameter groups choose from (fixed for a study), built by name."""

    ladders: Mapping[str, Mapping[int, tuple[str, ...]]]  # method -> bits -> member keys by seed
    dense: tuple[str, ...]  # the dense model's member key (empty when not measured)
    dense_alone: bool  # the dense baseline alone is a choice (method `dense`)
    units: Mapping[str, UnitSpec]  # candidate units by name
    knobs: Mapping[str, tuple[Knob, ...]]  # unit name -> searched fields (empty: as specified)
    choices: Mapping[str, tuple[Any, ...]]  # option name -> values its group picks from

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
            **{name: list(values) for name, values in self.choices.items()},
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
    extra: dict[str, Any] = field(default_factory=dict)  # picks of groups with no field above


@dataclass(frozen=True)
class Option:
    """A group's command-line option (`--<name with dashes>`): the values the search may take.

    ``known`` lists the allowed values (None: free-form, e.g. unit spec files, checked where
    they are used); ``default`` is what the search takes when the option is not given (None:
    every known value). ``in_space``: the group picks among the values in every trial, so they
    are kept in ``Space.choices``; False where building the space turns them into something
    else (the measured ladders of ``--methods``, the unit specs of ``--units``). ``single``: one
    value instead of a comma list."""

    name: str
    help: str
    known: Callable[[], tuple[Any, ...]] | None = None
    default: Callable[[], Any] | None = None
    in_space: bool = True
    single: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def resolve(self, given: Any) -> Any:
        """The given value(s) checked against ``known``, or the default when not given."""
        if given is None:
            return self.default() if self.default else tuple(self.known() if self.known else ())
        known = self.known() if self.known else None
        values = (given,) if self.single else tuple(distinct(list(given), self.flag))
        unknown = [v for v in values if known is not None and v not in known]
        if unknown or not values:
            want = ", ".join(map(str, known or ()))
            raise CodesignError(f"{self.flag}: want some of {want}, got {unknown}")
        return given if self.single else values


@dataclass(frozen=True)
class ParameterGroup:
    name: str
    order: int
    help: str
    suggest: Callable[[TrialLike, Space, Config], None]
    options: tuple[Option, ...] = ()
    # how the group's picks change a configuration's modelled cost: (config, priced) -> priced,
    # the objective's `Priced` (every figure an array over a batch of designs); None: no change
    cost: Callable[[Config, Any], Any] | None = None


PARAMETERS: Registry[ParameterGroup] = Registry("search parameter group")


def parameter_group(
    name: str,
    order: int,
    help: str,
    options: tuple[Option, ...] = (),
    cost: Callable[[Config, Any], Any] | None = None,
) -> Callable:
    """Decorator: register `fn(trial, space, config)` as a parameter group run in `order`, with
    the command-line options that restrict what it may choose, and the `cost` hook through
    which its picks change the modelled cost (the search objective and the exact enumeration
    both apply it)."""

    def add(fn: Callable[[TrialLike, Space, Config], None]) -> Callable:
        PARAMETERS.add(name, ParameterGroup(name, order, help, fn, tuple(options), cost))
        return fn

    return add


def options() -> list[Option]:
    """Every registered group's options, in group order."""
    return [opt for group in groups() for opt in group.options]


def resolve_choices(given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every option's value: as given (checked), else its default. Unknown names are refused."""
    given = dict(given or {})
    known = {opt.name: opt for opt in options()}
    extra = sorted(set(given) - set(known))
    if extra:
        raise CodesignError(f"no search option named {', '.join(extra)}")
    return {name: opt.resolve(given.get(name)) for name, opt in known.items()}


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
