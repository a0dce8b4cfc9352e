"""Compute unit: which candidate unit, then its family's searched fields (conditional on the
unit). The fields and their grids are the family's own (`Family.searched`, see
codesign/simulators/searched.py); a parameter is named `<unit>.<field>` in the study, e.g.
`bitfusion.array.rows`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from codesign.search.space import Config, Knob, Option, Space, TrialLike, parameter_group
from codesign.simulators import FAMILIES, UnitSpec, bundled_units
from codesign.simulators.fields import set_dotted
from codesign.simulators.spec import spec_from_mapping

NOT_SEARCHED_BY_DEFAULT = ("cpu",)  # needs power and area set before it has energy and area


def default_units() -> tuple[str, ...]:
    return tuple(u for u in bundled_units() if u not in NOT_SEARCHED_BY_DEFAULT)


UNIT_OPTIONS = (
    Option(
        "units",
        help="candidate units: bundled names or YAML spec files "
        f"(default: {','.join(default_units())})",
        default=default_units,
        in_space=False,  # loaded into unit specs
    ),
    Option(
        "unit_params",
        help="grid: search each family's parameters (array size, activation buffer, brick "
        "width); fixed: as the spec gives them (default: grid)",
        known=lambda: ("grid", "fixed"),
        default=lambda: "grid",
        in_space=False,  # decides the knobs
        single=True,
    ),
)


def knobs_for(spec: UnitSpec) -> tuple[Knob, ...]:
    """The searched fields of one unit with their grids (single-valued grids left out)."""
    searched = FAMILIES.get(spec.family).searched
    knobs = (Knob(field.name, field.grid(spec)) for field in searched)
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
    fields = {field.name: field for field in FAMILIES.get(spec.family).searched}
    for name, value in values.items():
        fields[name].apply(raw, name, value)
    return spec_from_mapping(raw, f"{spec.path} with searched {', '.join(values)}")


@parameter_group(
    "unit", order=40, help="compute unit and its family's parameters", options=UNIT_OPTIONS
)
def unit(trial: TrialLike, space: Space, config: Config) -> None:
    config.unit = trial.suggest_categorical("unit", list(space.units))
    for knob in space.knobs.get(config.unit, ()):
        name = f"{config.unit}.{knob.name}"
        config.unit_params[knob.name] = trial.suggest_categorical(name, knob.values)
