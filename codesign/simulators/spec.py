"""Compute-unit specs: YAML files (bundled presets or the user's), read and checked.

A spec names its family and gives that family's fields; `load_unit` returns a `UnitSpec` whose
errors always name the field and the file. Bundled presets live in `codesign/simulators/units`
and are registered by file name in `UNITS`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import CodesignError
from codesign.registry import Registry
from codesign.simulators.families import FAMILIES, Family
from codesign.simulators.fields import read_fields, set_dotted


@dataclass(frozen=True, eq=False)
class UnitSpec:
    """One checked compute-unit design: its family and flat field values."""

    name: str
    family: str
    params: Mapping[str, Any]
    path: str
    notes: tuple[str, ...] = field(default=())

    @property
    def description(self) -> str:
        return str(self.params.get("description", ""))

    @property
    def source(self) -> str:
        return str(self.params.get("source", ""))

    @property
    def model(self) -> Family:
        return FAMILIES.get(self.family)

    def label(self) -> str:
        """How every output names its numbers' origin."""
        return f"modelled (analytical, {self.name} spec)"


def _bundled_files() -> dict[str, Path]:
    root = resources.files("codesign.simulators.units")
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml")}


@cache
def _units() -> Registry[Path]:
    reg: Registry[Path] = Registry("compute unit")
    for name, path in sorted(_bundled_files().items()):
        reg.add(name, path)
    return reg


def bundled_units() -> list[str]:
    """Names of the bundled unit presets."""
    return _units().names()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CodesignError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CodesignError(f"{path}: not a text file (a unit spec is YAML)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise CodesignError(f"{path}: not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise CodesignError(f"{path}: a unit spec must be a YAML mapping of fields")
    return data


def spec_from_mapping(
    raw: Mapping[str, Any],
    where: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    resolve: bool = True,
) -> UnitSpec:
    """Check a spec mapping (as read from YAML) against its family's fields; `resolve=False`
    leaves 'measure' values unmeasured (for listing)."""
    data = copy.deepcopy(dict(raw))
    for name, value in (overrides or {}).items():
        set_dotted(data, name, value)
    family_name = data.get("family")
    if not isinstance(family_name, str):
        raise CodesignError(f"{where}: field 'family' is required (one of: {_families()})")
    if family_name not in FAMILIES:
        raise CodesignError(
            f"{where}: field 'family' is {family_name!r}, not a known family ({_families()})"
        )
    family = FAMILIES.get(family_name)
    data = family.prepare(data, where)
    params = read_fields(data, family.fields, where, f"{family_name} unit")
    family.check(params, where)
    notes: list[str] = []
    if resolve:
        params = family.resolve(params, notes)
    return UnitSpec(params["name"], family_name, params, where, tuple(notes))


def _families() -> str:
    return ", ".join(FAMILIES.names())


def load_unit(
    name_or_path: str, overrides: Mapping[str, Any] | None = None, *, resolve: bool = True
) -> UnitSpec:
    """A bundled unit by name, or a YAML spec file; `overrides` set dotted fields first."""
    if name_or_path in _units():
        path = _units().get(name_or_path)
        where = f"bundled unit {name_or_path} ({path.name})"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise CodesignError(
                f"unknown compute unit {name_or_path!r}: not a bundled unit "
                f"({', '.join(bundled_units())}) nor a YAML file"
            )
        where = str(path)
    return spec_from_mapping(_read_yaml(path), where, overrides, resolve=resolve)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`--set field=value` pairs; values are read as YAML scalars (numbers, strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise CodesignError(f"--set wants field=value, got {pair!r}")
        try:
            out[name.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise CodesignError(f"--set {name}: cannot read value {text!r}") from None
    return out
