"""The package layering of docs/CONTRIBUTING.md, checked on every module's imports (lazy ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import propsandbox

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lean_env", "propsandbox", "search", "prover")
PROJECT = {*PACKAGES, "benchmarks", "tests"}


def imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """``(module, names imported from it, line)`` for every import statement in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            found.append((node.module or "", tuple(alias.name for alias in node.names), node.lineno))
    return found


def project_imports(package: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(where, module, names)`` for the project modules imported anywhere in ``package``."""
    return [
        (f"{path.relative_to(ROOT)}:{line}", module, names)
        for path in sorted((ROOT / package).rglob("*.py"))
        for module, names, line in imports(path)
        if module.split(".")[0] in PROJECT
    ]


def test_every_package_is_scanned():
    for package in (*PACKAGES, "benchmarks"):
        assert project_imports(package), package


def test_lean_env_imports_nothing_else_from_the_project():
    bad = [(where, module) for where, module, _ in project_imports("lean_env") if module.split(".")[0] != "lean_env"]
    assert bad == []


def test_propsandbox_imports_only_lean_envs_public_api():
    allowed = {"lean_env", "lean_env.goals"}
    bad = [
        (where, module)
        for where, module, _ in project_imports("propsandbox")
        if module.split(".")[0] != "propsandbox" and module not in allowed
    ]
    assert bad == []


@pytest.mark.parametrize("package", ["lean_env", "search", "prover", "benchmarks"])
def test_outside_propsandbox_only_its_public_names_are_imported(package):
    public = set(propsandbox.__all__)
    bad = [
        (where, module, names)
        for where, module, names in project_imports(package)
        if module.startswith("propsandbox.") or (module == "propsandbox" and not set(names) <= public)
    ]
    assert bad == []
