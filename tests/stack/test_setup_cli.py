"""``prover setup`` through click's test runner: recording a project, dry runs, offline failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lean_env.stack import LeanProject, find_lean_project, read_config
from prover.cli import setup as setup_cli
from prover.cli.main import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, ["setup", *args])


def test_lean_project_is_validated_and_recorded(fake_project: LeanProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVER_REPL_BIN", str(fake_project.repl_binary))
    result = invoke("--lean-project", str(fake_project.root))
    assert result.exit_code == 0, result.output
    assert str(fake_project.root) in result.output and "PROVER_REPL_BIN" in result.output
    assert read_config()["lean_project"] == str(fake_project.root)
    monkeypatch.delenv("PROVER_REPL_BIN")
    assert find_lean_project() == fake_project  # the config alone is now enough


def test_incomplete_project_is_one_line_exit_2(fake_project: LeanProject) -> None:
    result = invoke("--lean-project", str(fake_project.root))  # REPL binary not at the default place
    assert result.exit_code == 2
    assert result.output.startswith("Error: REPL binary") and result.output.count("\n") == 1
    assert "Traceback" not in result.output and read_config() == {}


def test_dry_run_with_lean_project_writes_nothing(fake_project: LeanProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVER_REPL_BIN", str(fake_project.repl_binary))
    result = invoke("--lean-project", str(fake_project.root), "--dry-run")
    assert result.exit_code == 0 and "would record" in result.output
    assert read_config() == {}


def test_dry_run_lists_every_step_and_touches_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "elsewhere"
    result = invoke("--cache-dir", str(cache), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"[todo] {name}"
        for name in ("elan", "toolchain", "project", "mathlib", "mathlib-cache", "repl-source", "repl-build", "config")
    ]
    assert str(cache) in result.output and not cache.exists()


def test_offline_install_fails_fast_with_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_cli, "NetworkProbe", lambda: (lambda: False))
    cache = tmp_path / "c"
    result = invoke("--cache-dir", str(cache))
    assert result.exit_code == 1
    assert result.output.startswith("Error: no network") and result.output.count("\n") == 1
    assert "--lean-project PATH" in result.output and "elan" in result.output
    assert not cache.exists()


def test_corrupt_config_is_one_line(isolated_env: Path, fake_project: LeanProject) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text("= broken\n")
    result = invoke("--lean-project", str(fake_project.root))
    assert result.exit_code == 1 and "not valid TOML" in result.output and "Traceback" not in result.output


def test_lean_project_on_another_toolchain_than_the_repl_is_exit_2(fake_project: LeanProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repl = tmp_path / "repl-src"
    (repl / ".lake" / "build" / "bin").mkdir(parents=True)
    (repl / ".lake" / "build" / "bin" / "repl").write_text("")
    (repl / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")
    monkeypatch.setenv("PROVER_REPL_BIN", str(repl / ".lake" / "build" / "bin" / "repl"))
    result = invoke("--lean-project", str(fake_project.root))
    assert result.exit_code == 2
    assert "v4.24.0" in result.output and "v4.9.0" in result.output and len(result.output.strip().splitlines()) == 1
