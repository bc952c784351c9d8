"""The real-Lean code path end to end (CLI -> agent -> REPL pool -> processes -> verify),
with two stand-ins because no Lean toolchain exists here: a ``lake`` script that runs
``lake env CMD`` as CMD, and the test stand-in REPL (tests/repl/fake_repl.py), whose
scripted tactics close goals without doing mathematics. So this checks plumbing, process
handling and result reporting, not that any proof is mathematically right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_REPL = REPO / "tests" / "repl" / "fake_repl.py"


@pytest.fixture
def lean_stand_in(tmp_path, shared_datasets):
    bin_dir, project = tmp_path / "bin", tmp_path / "project"
    bin_dir.mkdir()
    project.mkdir()
    (project / "lakefile.toml").write_text('name = "p"\n')
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    lake = bin_dir / "lake"
    lake.write_text('#!/bin/sh\n[ "$1" = env ] || exit 2\nshift\nexec "$@"\n')
    repl = bin_dir / "repl"
    transcripts = shared_datasets / "lean_repl_transcripts" / "request_response_pairs.jsonl"
    repl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_REPL}" --transcripts "{transcripts}" "$@"\n')
    lake.chmod(0o755)
    repl.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PROVER_REPL_BIN": str(repl),
           "PROVER_CACHE_DIR": str(tmp_path / "cache")}
    return project, env


def _prover(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=REPO)


def _fake_repls() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if str(FAKE_REPL) in " ".join(p.info["cmdline"] or [])]


def test_prove_through_the_repl_backend(lean_stand_in, shared_datasets):
    project, env = lean_stand_in
    minif2f = shared_datasets / "minif2f" / "minif2f_lean4.jsonl"
    result = _prover("prove", "--minif2f", "mathd_algebra_10", "--minif2f-path", str(minif2f),
                     "--lean-project", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert "verified by lean-repl" in result.stdout and "theorem mathd_algebra_10" in result.stdout
    # --env auto picks the REPL for a statement outside the sandbox once a project is configured.
    auto = _prover("prove", "theorem x (a b : ℕ) (h₀ : a = 2) (h₁ : b = 3) : a + b = 5 := by",
                   "--lean-project", str(project), env=env)
    assert auto.returncode == 0 and "verified by lean-repl" in auto.stdout, auto.stderr
    assert not _fake_repls()


def test_bench_through_the_repl_backend(lean_stand_in, shared_datasets, tmp_path):
    project, env = lean_stand_in
    minif2f = shared_datasets / "minif2f" / "minif2f_lean4.jsonl"
    out = tmp_path / "run"
    result = _prover("bench", "--dataset", "minif2f:valid", "--minif2f-path", str(minif2f), "--limit", "6",
                     "--env", "repl", "--workers", "2", "--lean-project", str(project), "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 6 and all(r["category"] != "sandbox" for r in records)
    assert all(r["status"] in ("proved", "failed", "budget") for r in records)
    assert not _fake_repls()


def test_broken_repl_is_reported_not_hung(lean_stand_in, tmp_path):
    project, env = lean_stand_in
    broken = tmp_path / "bin" / "broken"
    broken.write_text("#!/bin/sh\necho not json\nexit 1\n")
    broken.chmod(0o755)
    result = _prover("prove", "theorem x (a : ℕ) : a = a := by", "--lean-project", str(project),
                     env={**env, "PROVER_REPL_BIN": str(broken)})
    assert result.returncode == 1 and "failed to start" in result.stderr and "Traceback" not in result.stderr
