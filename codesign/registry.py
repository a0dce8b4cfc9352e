"""A tiny name → object registry, so adding a suite, unit or parameter is one registration."""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
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


# Folders (os.pathsep-separated) holding extensions laid out like the package: a file in
# <folder>/measurements/evaluate/suites/ is a suite, one in <folder>/simulators/families/ a
# family, and so on; each registry's package finds them beside its own modules.
EXTENSIONS_ENV = "CODESIGN_EXTENSIONS"


def extension_roots() -> list[Path]:
    """The folders ``$CODESIGN_EXTENSIONS`` names; one that is not a folder is a one-line error
    (a typo would otherwise drop the extension without a word)."""
    roots = [Path(r) for r in os.environ.get(EXTENSIONS_ENV, "").split(os.pathsep) if r]
    for root in roots:
        if not root.is_dir():
            raise CodesignError(f"${EXTENSIONS_ENV}: {root} is not a folder")
    return roots


def extension_dirs(package: str) -> list[str]:
    """The folders of ``$CODESIGN_EXTENSIONS`` that extend ``package`` (its path below
    ``codesign``, e.g. ``<folder>/simulators/families`` for ``codesign.simulators.families``)."""
    below = Path(*package.split(".")[1:])
    return [str(r / below) for r in extension_roots() if (r / below).is_dir()]


def import_all(package: str) -> None:
    """Import every public module of ``package`` so each registers itself: adding a suite,
    a family, a schedule or a search parameter is adding one file, with no list to edit, in
    the package or in an extensions folder (``$CODESIGN_EXTENSIONS``). An extension file that
    fails to import is a one-line error naming it, not a traceback."""
    found = importlib.import_module(package)
    extra = extension_dirs(package)
    for folder in extra:
        if folder not in found.__path__:
            found.__path__.append(folder)
    for info in pkgutil.iter_modules(found.__path__):
        if info.name.startswith("_"):
            continue
        name = f"{package}.{info.name}"
        if getattr(info.module_finder, "path", None) not in extra:
            importlib.import_module(name)  # the package's own: a failure is a bug, shown whole
            continue
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as exc:  # KeyboardInterrupt passes through
            where = Path(info.module_finder.path) / (info.name if info.ispkg else f"{info.name}.py")
            raise CodesignError(
                f"extension {where} (${EXTENSIONS_ENV}) does not load: {type(exc).__name__}: {exc}"
            ) from exc
