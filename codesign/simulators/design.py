"""A batch of candidate designs of one family as numpy arrays (struct-of-arrays).

The search varies a unit's parameters for thousands of designs at once: build the batch from a
bundled or user spec with array overrides (`DesignBatch.from_spec(spec, array_rows=rows, ...)`)
and hand it to `evaluate`. Override keys are the spec's field names with dots as underscores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.simulators.families import FAMILIES, Family, Rates
from codesign.simulators.spec import UnitSpec


@dataclass(frozen=True, eq=False)
class DesignBatch:
    """n designs of one family: `arrays` maps field keys to (n,) (or (n, S)) arrays."""

    family: str
    arrays: Mapping[str, np.ndarray]
    names: tuple[str, ...]
    _cache: dict[str, Rates] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return self.n

    @property
    def model(self) -> Family:
        return FAMILIES.get(self.family)

    @classmethod
    def from_specs(cls, specs: Sequence[UnitSpec]) -> DesignBatch:
        """One row per spec; all specs must share a family."""
        if not specs:
            raise CodesignError("a design batch needs at least one spec")
        families = {s.family for s in specs}
        if len(families) > 1:
            raise CodesignError(f"a design batch holds one family, got {sorted(families)}")
        family = FAMILIES.get(specs[0].family)
        arrays = family.to_arrays([s.params for s in specs])
        return cls(specs[0].family, arrays, tuple(s.name for s in specs))

    @classmethod
    def from_spec(cls, spec: UnitSpec, n: int | None = None, **overrides: Any) -> DesignBatch:
        """`spec` repeated for every design, with the given fields varied per design.

        Each override is a scalar or an array of length n (heterogeneous `sub_rows` etc. take
        (n, S) or (S,)); n defaults to the overrides' length. Override values are used as
        given: the spec file is checked when loaded, the search owns its parameter ranges.
        """
        base = FAMILIES.get(spec.family).to_arrays([spec.params])
        sizes = [
            np.shape(v)[0]
            for k, v in overrides.items()
            if np.ndim(v) == (2 if k.startswith("sub_") else 1)
        ]
        count = n if n is not None else max(sizes, default=1)
        arrays: dict[str, np.ndarray] = {}
        for key, value in base.items():
            if key.startswith("sub_"):
                arrays[key] = np.broadcast_to(value, (count, value.shape[1])).copy()
            else:
                arrays[key] = np.broadcast_to(value, (count,)).copy()
        for key, value in overrides.items():
            if key not in arrays:
                known = ", ".join(sorted(arrays))
                raise CodesignError(f"{spec.family} designs have no field {key!r} (known: {known})")
            try:
                kind = arrays[key].dtype.kind
                typed = np.asarray(value, dtype=float) if kind == "f" else np.asarray(value)
                arrays[key] = np.broadcast_to(typed, arrays[key].shape).copy()
            except ValueError:
                raise CodesignError(
                    f"override {key!r} has shape {np.shape(value)}, want {arrays[key].shape}"
                ) from None
        return cls(spec.family, arrays, (spec.name,) * count)

    def rates(self) -> Rates:
        """The family's cost tables for these designs (computed once per batch)."""
        if "rates" not in self._cache:
            self._cache["rates"] = self.model.rates(self.arrays, self.n)
        return self._cache["rates"]
