"""Declared fields of a unit spec, and the reader that checks a YAML mapping against them.

Each family lists its fields once (name, type, default, bounds); the reader turns a nested YAML
mapping into flat validated values and names the field and the file in any error, so a typo in
a spec is one line of explanation, not a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codesign.errors import CodesignError

REQUIRED: Any = object()
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


def _number(field: Field, value: Any, where: str) -> float | int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if field.kind == "int" and ok and float(value) != int(value):
        ok = False
    if not ok:
        noun = "an integer" if field.kind == "int" else "a number"
        extra = " or 'measure'" if field.measurable else ""
        raise field_error(where, field.name, f"must be {noun}{extra}, got {value!r}")
    number = int(value) if field.kind == "int" else float(value)
    if field.low is not None and number < field.low:
        raise field_error(where, field.name, f"must be >= {field.low:g}, got {number!r}")
    if field.high is not None and number > field.high:
        raise field_error(where, field.name, f"must be <= {field.high:g}, got {number!r}")
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
