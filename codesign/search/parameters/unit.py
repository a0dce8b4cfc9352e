"""Compute unit: which candidate unit, then its family's parameters (conditional on the unit).

Each family registers the fields the search varies in `UNIT_KNOBS`, as small discrete grids
around the unit's own values (half, same, double), so `--exhaustive` can enumerate them. The
grids keep to fields that trade one objective against another in the PPA model: array size
(latency against area), activation buffer (energy against area), brick width (energy against
area). Fields the model charges nothing for (clock, DRAM bandwidth) would always be maxed, and
smaller weight buffers always win, so they stay as the spec gives them. A GPU roofline has no
knobs. A parameter is named `<unit>.<field>` in the study, e.g. `bitfusion.array.rows`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from codesign.registry import Registry
from codesign.search.space import Config, Knob, Space, TrialLike, parameter_group
from codesign.simulators import UnitSpec
from codesign.simulators.families.fusible import fused_width
from codesign.simulators.fields import set_dotted
from codesign.simulators.spec import spec_from_mapping

SCALES = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class KnobRule:
    """How one field is searched: its grid for a given unit, and how a value is applied."""

    name: str
    grid: Callable[[UnitSpec], tuple[Any, ...]]
    apply: Callable[[dict, str, Any], None] = set_dotted


UNIT_KNOBS: Registry[tuple[KnobRule, ...]] = Registry("unit-parameter grid")


def scaled(field: str) -> Callable[[UnitSpec], tuple[Any, ...]]:
    """Half, the spec's value and double (integers stay integers, at least 1)."""

    def grid(spec: UnitSpec) -> tuple[Any, ...]:
        value = spec.params[field]
        if isinstance(value, int):
            return tuple(sorted({max(1, int(value * s)) for s in SCALES}))
        return tuple(sorted({float(value) * s for s in SCALES}))

    return grid


def _bricks(spec: UnitSpec) -> tuple[int, ...]:
    top, act = spec.params["max_bits"], spec.params["act_bits"]
    return tuple(b for b in (1, 2, 4) if b <= top and fused_width(top, b) == top and act <= top)


def _scale_rows(raw: dict, name: str, scale: float) -> None:
    for sub in raw["arrays"]:
        sub["rows"] = max(1, int(round(sub["rows"] * scale)))


ARRAY = (
    KnobRule("array.rows", scaled("array.rows")),
    KnobRule("array.cols", scaled("array.cols")),
    KnobRule("sram.act_kb", scaled("sram.act_kb")),
)
UNIT_KNOBS.add("fixed", ARRAY)
UNIT_KNOBS.add("fusible", (*ARRAY, KnobRule("brick_bits", _bricks)))
UNIT_KNOBS.add("bit-serial", ARRAY)
UNIT_KNOBS.add("bitplane", ARRAY)
UNIT_KNOBS.add(
    "heterogeneous",
    (KnobRule("arrays.rows_scale", lambda spec: SCALES, _scale_rows), ARRAY[2]),
)
UNIT_KNOBS.add("roofline", ())


def knobs_for(spec: UnitSpec) -> tuple[Knob, ...]:
    """The searched fields of one unit with their grids (single-valued grids left out)."""
    rules = UNIT_KNOBS.get(spec.family) if spec.family in UNIT_KNOBS else ()
    knobs = (Knob(rule.name, rule.grid(spec)) for rule in rules)
    return tuple(k for k in knobs if len(k.values) > 1)


def spec_mapping(spec: UnitSpec) -> dict:
    """A unit spec as the nested YAML mapping `load_unit` reads (unset fields left out)."""
    raw: dict = {}
    for name, value in spec.params.items():
        if value is not None:
            set_dotted(raw, name, copy.deepcopy(value))
    return raw


def design(spec: UnitSpec, values: Mapping[str, Any]) -> UnitSpec:
    """The unit with the searched field values applied, checked like a spec file."""
    if not values:
        return spec
    raw = spec_mapping(spec)
    rules = {rule.name: rule for rule in UNIT_KNOBS.get(spec.family)}
    for name, value in values.items():
        rules[name].apply(raw, name, value)
    return spec_from_mapping(raw, f"{spec.path} with searched {', '.join(values)}")


@parameter_group("unit", order=40, help="compute unit and its family's parameters")
def unit(trial: TrialLike, space: Space, config: Config) -> None:
    config.unit = trial.suggest_categorical("unit", list(space.units))
    for knob in space.knobs.get(config.unit, ()):
        name = f"{config.unit}.{knob.name}"
        config.unit_params[knob.name] = trial.suggest_categorical(name, knob.values)
