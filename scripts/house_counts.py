"""The house counts issue 39 tracks: functions over 60 lines in codesign/, README lines, and
imports that run against the flow of the stages.

Usage: python scripts/house_counts.py

Stages in flow order: measurements, then scoring (stored outputs to scores), then ensembles
and simulators (side by side: neither needs the other), then search, then report. An import
is *upward* when a module imports a module of a later stage, or when a shared module (the
top-level ones: store, registry; the commandline and jobs packages) imports any stage.
Function-local imports count; ``if TYPE_CHECKING:`` ones do not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codesign"
LONG = 60
STAGE = {
    "measurements": 0,
    "scoring": 1,
    "ensembles": 2,
    "simulators": 2,
    "search": 3,
    "report": 4,
}
SHARED = -1
SHARED_PACKAGES = {"commandline", "jobs"}  # shared like the top-level modules


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> int | None:
    """The module's stage; SHARED for top-level modules; None for the package itself."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in STAGE:
        return STAGE[parts[1]]
    return SHARED if len(parts) == 2 or parts[1] in SHARED_PACKAGES else None


def long_functions() -> list[tuple[int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > LONG:
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    found.append((length, where))
    return sorted(found, reverse=True)


def _imports(tree: ast.AST, package: str) -> set[str]:
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = set()
    for node in ast.walk(tree):
        up = node
        typing_only = False
        while up in parents:
            up = parents[up]
            if isinstance(up, ast.If) and "TYPE_CHECKING" in ast.unparse(up.test):
                typing_only = True
        if typing_only:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                keep = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(keep) + (f".{node.module}" if node.module else "")
            out.add(base)
    return {m for m in out if m.startswith("codesign.")}


def upward_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        mine = stage(name)
        if mine is None:
            continue
        for target in sorted(_imports(ast.parse(path.read_text(encoding="utf-8")), package)):
            theirs = stage(target)
            if theirs is not None and theirs != SHARED and theirs > mine:
                found.append(f"{name} imports {target}")
    return found


def main() -> int:
    longs = long_functions()
    readme = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    upward = upward_imports()
    print(f"functions over {LONG} lines in codesign/: {len(longs)}")
    for length, where in longs:
        print(f"  {length:4d}  {where}")
    print(f"README.md lines: {readme}")
    print(f"upward imports: {len(upward)}")
    for line in upward:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
