"""The project's import graph: no cycles, and the layering of docs/CONTRIBUTING.md.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a
lazy import still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import propsandbox

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lean_env", "propsandbox", "search", "prover")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """``(module, names imported from it)`` for every import statement in ``path`` (absolute only)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            found.append((node.module or "", tuple(alias.name for alias in node.names)))
    return found


def _files(*packages: str) -> dict[str, Path]:
    return {_module_name(p): p for package in packages for p in (ROOT / package).rglob("*.py")}


def import_graph() -> nx.DiGraph:
    """Project module -> project modules it imports (``from a import b`` points at ``a.b``
    when that is a module, else at ``a``)."""
    files = _files(*PACKAGES)
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        for base, names in _imports(path):
            for target in [f"{base}.{name}" if f"{base}.{name}" in files else base for name in names] or [base]:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    graph.add_edge(module, target)
    return graph


def test_the_project_has_no_import_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])


@pytest.mark.parametrize("package, allowed", [
    ("lean_env", {"lean_env"}),
    ("propsandbox", {"propsandbox", "lean_env"}),
    ("search", {"search", "lean_env"}),
])
def test_lower_layers_import_only_what_they_may(package, allowed):
    bad = [(m, t) for m, t in import_graph().edges if m.split(".")[0] == package and t.split(".")[0] not in allowed]
    assert bad == []


def test_propsandbox_uses_only_lean_envs_public_api_and_goal_parser():
    bad = [(m, t) for m, t in import_graph().edges
           if m.startswith("propsandbox") and t.startswith("lean_env") and t not in ("lean_env", "lean_env.goals")]
    assert bad == []


@pytest.mark.parametrize("package", ["lean_env", "search", "prover", "benchmarks"])
def test_outside_propsandbox_only_its_public_names_are_imported(package):
    public = set(propsandbox.__all__)
    bad = [
        (str(path.relative_to(ROOT)), module, names)
        for path in _files(package).values()
        for module, names in _imports(path)
        if module.startswith("propsandbox.") or (module == "propsandbox" and not set(names) <= public)
    ]
    assert bad == []


def test_the_engine_and_the_policies_do_not_import_each_other():
    graph = import_graph()
    policies = [m for m in graph if m.startswith("search.policies")]
    assert not any(graph.has_edge("search.engine", p) for p in policies)
    assert not any(graph.has_edge(p, "search.engine") for p in policies)
