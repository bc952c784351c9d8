"""The project's import graph: no cycles, and the layering of docs/CONTRIBUTING.md.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a
lazy import still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> nx.DiGraph:
    """Project module -> project modules it imports (``from a import b`` points at ``a.b``
    when that is a module, else at ``a``)."""
    files = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    graph.add_edge(module, target)
    return graph


def test_the_project_has_no_import_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])


def test_layers_import_only_downwards():
    allowed = {
        "lean_env": {"lean_env"},
        "propsandbox": {"propsandbox", "lean_env"},
        "search": {"search", "lean_env"},
    }
    for module, target in import_graph().edges:
        top, target_top = module.split(".")[0], target.split(".")[0]
        if top in allowed:
            assert target_top in allowed[top], f"{module} imports {target}"


def test_the_engine_and_the_policies_do_not_import_each_other():
    graph = import_graph()
    policies = [m for m in graph if m.startswith("search.policies")]
    assert not any(graph.has_edge("search.engine", p) for p in policies)
    assert not any(graph.has_edge(p, "search.engine") for p in policies)
