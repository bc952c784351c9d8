"""The pinned stack and the precedence rules of ``find_lean_project``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_env.errors import BackendUnavailable
from lean_env.stack import (
    DEFAULT_STACK,
    LeanProject,
    config_path,
    find_lean_project,
    read_config,
    write_config,
)

PROVENANCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "minif2f" / "PROVENANCE.md"


def test_default_stack_is_the_one_the_dataset_pins() -> None:
    text = PROVENANCE.read_text(encoding="utf-8")
    assert DEFAULT_STACK.lean_toolchain in text
    assert DEFAULT_STACK.mathlib_rev in text
    assert f"repl tag `{DEFAULT_STACK.repl_tag}`" in text


def test_repl_command_runs_the_binary_under_lake_env(fake_project: LeanProject) -> None:
    assert fake_project.repl_command() == ("lake", "env", str(fake_project.repl_binary))
    fake_project.validate()


@pytest.mark.parametrize(
    ("remove", "expected"),
    [("lakefile.toml", "no lakefile"), ("lean-toolchain", "no lean-toolchain"), ("repl", "REPL binary")],
)
def test_validate_names_the_missing_piece(fake_project: LeanProject, remove: str, expected: str) -> None:
    target = fake_project.repl_binary if remove == "repl" else fake_project.root / remove
    target.unlink()
    with pytest.raises(BackendUnavailable, match=expected) as info:
        fake_project.validate()
    assert "\n" not in str(info.value)


def test_validate_rejects_a_missing_root(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="not a directory"):
        LeanProject(root=tmp_path / "nope", repl_binary=tmp_path / "repl").validate()


def test_nothing_configured_finds_nothing() -> None:
    assert find_lean_project() is None


def test_project_precedence_explicit_then_env_then_config(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config({"lean_project": str(tmp_path / "from-config"), "repl_binary": str(tmp_path / "cfg-repl")})
    assert find_lean_project().root == tmp_path / "from-config"
    monkeypatch.setenv("PROVER_LEAN_PROJECT", str(tmp_path / "from-env"))
    assert find_lean_project().root == tmp_path / "from-env"
    assert find_lean_project(tmp_path / "explicit").root == tmp_path / "explicit"


def test_repl_binary_precedence_env_then_config_then_cache_default(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = isolated_env / "repl-v4.24.0" / ".lake" / "build" / "bin" / "repl"
    assert find_lean_project(tmp_path).repl_binary == default
    write_config({"repl_binary": str(tmp_path / "cfg-repl")})
    assert find_lean_project(tmp_path).repl_binary == tmp_path / "cfg-repl"
    monkeypatch.setenv("PROVER_REPL_BIN", str(tmp_path / "env-repl"))
    assert find_lean_project(tmp_path).repl_binary == tmp_path / "env-repl"


def test_explicit_cache_dir_beats_the_environment(tmp_path: Path) -> None:
    other = tmp_path / "other-cache"
    write_config({"lean_project": "/somewhere"}, other)
    assert find_lean_project() is None
    assert find_lean_project(cache_dir=other).root == Path("/somewhere")


def test_config_round_trips_awkward_strings(isolated_env: Path) -> None:
    values = {"lean_project": 'C:\\dir with "quotes"\tand ünïcode', "repl_binary": "/x"}
    path = write_config(values)
    assert path == config_path() == isolated_env / "config.toml"
    assert read_config() == values


def test_corrupt_config_is_reported_not_ignored(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text("lean_project = [unclosed\n")
    with pytest.raises(BackendUnavailable, match="not valid TOML"):
        find_lean_project()


def _lake_built_repl(tmp_path: Path, toolchain: str) -> Path:
    """A REPL checkout with its lean-toolchain and a built binary in Lake's layout."""
    repl = tmp_path / "repl-src"
    binary = repl / ".lake" / "build" / "bin" / "repl"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    (repl / "lean-toolchain").write_text(toolchain + "\n")
    return binary


def test_a_repl_built_for_another_toolchain_is_one_error_naming_both(fake_project: LeanProject, tmp_path: Path) -> None:
    project = LeanProject(root=fake_project.root, repl_binary=_lake_built_repl(tmp_path, "leanprover/lean4:v4.9.0"))
    assert (project.toolchain, project.repl_toolchain) == ("leanprover/lean4:v4.24.0", "leanprover/lean4:v4.9.0")
    with pytest.raises(BackendUnavailable) as info:
        project.validate()
    message = str(info.value)
    assert "leanprover/lean4:v4.24.0" in message and "leanprover/lean4:v4.9.0" in message
    assert "--branch v4.24.0" in message and "\n" not in message


def test_a_matching_or_unknown_repl_toolchain_passes(fake_project: LeanProject, tmp_path: Path) -> None:
    LeanProject(root=fake_project.root, repl_binary=_lake_built_repl(tmp_path, "leanprover/lean4:v4.24.0")).validate()
    fake_project.validate()  # a binary outside a Lake layout: its toolchain is unknown, nothing to compare
    assert fake_project.repl_toolchain is None
