"""Declared fields of a unit spec, and the reader that checks a YAML mapping against them.

Each family lists its fields once (name, type, default, bounds); the reader turns a nested YAML
mapping into flat validated values and names the field and the file in any error, so a typo in
a spec is one line of explanation, not a traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codesign.errors import CodesignError

REQUIRED: Any = object()
MAX_NUMBER = 1e12  # the ceiling of a number field that declares no upper bound
NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
MEASURE = "measure"


@dataclass(frozen=True)
class Field:
    """One spec field. `name` is dotted for nested YAML (``dram.bandwidth_gbs``).

    kind: int | float | str | bool | choice | subarrays; a None default makes it optional.
    measurable: the string ``measure`` is accepted (resolved by the family when loading).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    help: str = ""
    measurable: bool = False

    @property
    def key(self) -> str:
        """The name as an array key of a DesignBatch (dots become underscores)."""
        return self.name.replace(".", "_")


def flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys; lists and scalars stay values."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def set_dotted(raw: dict[str, Any], name: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating the mappings on the way."""
    node = raw
    parts = name.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def field_error(where: str, name: str, problem: str) -> CodesignError:
    """The one-line error for a bad field: file, field name, what is wrong."""
    return CodesignError(f"{where}: field {name!r} {problem}")


def convert(field: Field, value: Any, where: str) -> Any:
    """One value checked and converted; a CodesignError naming the field and file otherwise."""
    if value is None:
        if field.default is REQUIRED:
            raise field_error(where, field.name, "is required")
        if field.default is not None:  # an explicit null where the field has a value
            raise field_error(
                where,
                field.name,
                f"is null; give a value or leave it out for its default ({field.default!r})",
            )
        return None
    if field.measurable and value == MEASURE:
        return MEASURE
    kind = field.kind
    if kind == "str":
        if not isinstance(value, str):
            raise field_error(where, field.name, f"must be a string, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise field_error(where, field.name, f"must be true or false, got {value!r}")
        return value
    if kind == "choice":
        if value not in field.choices:
            known = ", ".join(map(str, field.choices))
            raise field_error(where, field.name, f"must be one of {known}, got {value!r}")
        return value
    if kind in ("int", "float"):
        return _number(field, value, where)
    raise ValueError(f"field kind {kind!r} is not handled here")


def _as_number(value: Any) -> float | int | None:
    """A YAML number, or a string YAML 1.2 reads as one (PyYAML, a YAML 1.1 reader, leaves
    ``1e308`` a string and reads only ``1.0e+308`` as a float); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
        text = value.strip()
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    return None


def _number(field: Field, value: Any, where: str) -> float | int:
    """Finite, of the field's kind, inside its declared bounds (or under MAX_NUMBER: no
    quantity a unit spec holds comes near it, and larger values overflow the models)."""
    number = _as_number(value)
    ok = number is not None and math.isfinite(number)
    if ok and field.kind == "int" and not float(number).is_integer():
        ok = False
    if not ok:
        noun = "an integer" if field.kind == "int" else "a finite number"
        extra = " or 'measure'" if field.measurable else ""
        raise field_error(where, field.name, f"must be {noun}{extra}, got {value!r}")
    number = int(number) if field.kind == "int" else float(number)
    high = MAX_NUMBER if field.high is None else field.high
    shown = f"{number:.4g}" if abs(number) >= 1e15 else repr(number)
    if field.low is not None and number < field.low:
        raise field_error(where, field.name, f"must be >= {field.low:g}, got {shown}")
    if number > high:
        raise field_error(where, field.name, f"must be <= {high:g}, got {shown}")
    return number


def read_fields(
    raw: Mapping[str, Any], fields: Sequence[Field], where: str, what: str
) -> dict[str, Any]:
    """Validate a (nested) mapping against `fields`; returns {field.name: value}.

    Unknown fields are errors (they are nearly always typos); `what` names the kind of spec in
    that message.
    """
    flat = flatten(raw)
    by_name = {f.name: f for f in fields}
    for name in flat:
        if name not in by_name:
            known = ", ".join(sorted(by_name))
            raise field_error(where, name, f"is not a field of a {what} (known: {known})")
    out: dict[str, Any] = {}
    for field in fields:
        value = flat.get(field.name, None if field.default is REQUIRED else field.default)
        if field.kind == "subarrays":
            out[field.name] = value
        else:
            out[field.name] = convert(field, value, where)
    return out
