"""The house rules of the package layout: data flows one way, with no import cycle, and the
stages that need no model (search, report, simulators, ensembles) never import torch."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import codesign

ROOT = Path(codesign.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside ``if TYPE_CHECKING:``: a typing-only import, which runs nothing."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph() -> dict[str, set[str]]:
    """Module → the codesign modules it imports at run time (function-local imports too)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if _typing_only(node, parents):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]  # fmt: skip
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_sees_the_stages():
    graph = import_graph()
    assert "codesign.store" in graph["codesign.scoring.stored"]
    assert "codesign.ensembles.scores" in graph["codesign.search.trust"]


def _house():
    """scripts/house_counts.py: the one place that orders the stages."""
    path = ROOT.parent / "scripts" / "house_counts.py"
    spec = importlib.util.spec_from_file_location("house_counts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def against_the_flow(graph: dict[str, set[str]], stage) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a stage imports a later stage, or a shared module
    (store, registry, commandline, jobs) imports any stage."""
    found = []
    for a, targets in graph.items():
        for b in targets:
            sa, sb = stage(a), stage(b)
            if sa is None or sb is None or sb < 0:
                continue
            if sa < 0 or sb > sa:
                found.append((a, b))
    return sorted(found)


def test_every_import_runs_with_the_flow():
    house = _house()
    assert against_the_flow(import_graph(), house.stage) == []


def test_the_flow_check_sees_an_upward_import():
    house = _house()
    graph = {
        "codesign.measurements.evaluate.cli": {"codesign.scoring.stored", "codesign.store"},
        "codesign.scoring.stored": {"codesign.measurements.evaluate.suites"},
        "codesign.store": {"codesign.search.cli"},
    }
    assert against_the_flow(graph, house.stage) == [
        ("codesign.measurements.evaluate.cli", "codesign.scoring.stored"),
        ("codesign.store", "codesign.search.cli"),
    ]
    assert house.stage("codesign.scoring.x") < house.stage("codesign.ensembles.x")


def test_no_import_cycles_in_codesign():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "module",
    [
        "codesign.search",
        "codesign.report",
        "codesign.simulators",
        "codesign.ensembles.scores",
        "codesign.scoring.variants",
    ],
)
def test_stages_that_run_no_model_do_not_import_torch(module):
    code = f"import {module}, sys; assert 'torch' not in sys.modules, 'torch imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ensembles_do_not_import_the_model_runner():
    graph = import_graph()
    reach, todo = set(), ["codesign.ensembles.scores"]
    while todo:
        for w in graph[todo.pop()] - reach:
            reach.add(w)
            todo.append(w)
    assert not {m for m in reach if ".quantize" in m or m.endswith(".runner")}
