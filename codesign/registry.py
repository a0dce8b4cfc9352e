"""A tiny name → object registry, so adding a suite, unit or parameter is one registration."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from codesign.errors import CodesignError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; the only place that knows every member of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@SUITES.register("ethics")`` on a class, function or factory."""

        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return add

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name`` without a decorator."""
        return self.register(name)(obj)

    def remove(self, name: str) -> T:
        """Unregister ``name`` (tests register a member of their own and remove it after)."""
        return self._items.pop(name)

    def get(self, name: str) -> T:
        """The object registered as ``name``; a one-line error naming the known ones otherwise."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise CodesignError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def import_all(package: str) -> None:
    """Import every public module of ``package`` so each registers itself: adding a suite,
    a family, a schedule or a search parameter is adding one file, with no list to edit."""
    found = importlib.import_module(package)
    for info in pkgutil.iter_modules(found.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
