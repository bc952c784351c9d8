"""Isolate every stack test from the user's real cache, config and elan install."""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_env.stack import LeanProject


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache dir and elan home into ``tmp_path`` and clear the overrides."""
    for name in ("PROVER_LEAN_PROJECT", "PROVER_REPL_BIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "elan"))
    return tmp_path / "cache"


@pytest.fixture
def fake_project(tmp_path: Path) -> LeanProject:
    """A complete project layout on disk (the files exist; nothing in them is run)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "lakefile.toml").write_text('name = "p"\n')
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    binary = tmp_path / "repl" / "repl"
    binary.parent.mkdir()
    binary.write_text("")
    return LeanProject(root=root, repl_binary=binary)
