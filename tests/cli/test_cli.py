"""The CLI through its real entry point (a subprocess running the installed ``prover``
script) on the sandbox: prove, bench with resume after SIGKILL, report, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROVER = [sys.executable, "-m", "prover.cli"]
DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


def run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*PROVER, *args], capture_output=True, text=True, timeout=timeout, **kwargs)


def test_prove_demo_prints_a_verified_proof():
    result = run("prove", DEMO)
    assert result.returncode == 0, result.stderr
    assert "proved t (verified by sandbox" in result.stdout
    assert DEMO in result.stdout


@pytest.mark.parametrize("policy", ["pass-n", "best-first", "beam", "rollouts", "mcts", "lookahead"])
def test_prove_with_each_step_policy(policy):
    result = run("prove", DEMO, "--policy", policy, "--max-expansions", "300", "--temperature", "1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_not_proved_exits_1_with_partial_state():
    result = run("prove", "theorem hard (p q r s : Prop) : ((p → q) → (r → s)) → (p ∨ r) → (q ∨ s) ∨ p := by",
                 "--max-expansions", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not proved hard: budget" in result.stderr and "best partial state" in result.stderr


@pytest.mark.parametrize("argv,needle", [
    (["prove", "theorem t (p : Prop) : (p ∧ := by"], "line 1"),
    (["prove", ""], "empty statement"),
    (["prove"], "exactly one of"),
    (["prove", DEMO, "--policy", "nope"], "Invalid value"),
    (["prove", DEMO, "--param", "k"], "KEY=VALUE"),
    (["prove", DEMO, "--model", "/no/such/model"], "/no/such/model"),
    (["prove", "theorem t (x : Nat) : x = x := by", "--env", "auto"], "prover setup"),
    (["prove", "--minif2f", "no_such_theorem", "--minif2f-path", "../shared/datasets/minif2f/minif2f_lean4.jsonl"], "unknown MiniF2F"),
    (["bench", "--dataset", "nope", "--out", "/tmp/x"], "unknown dataset"),
    (["prove", DEMO, "--env", "leandojo"], "leandojo_repo"),
])
def test_user_errors_are_one_line_with_exit_2(argv, needle):
    result = run(*argv, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2, result.stdout + result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_non_utf8_statement_is_refused(tmp_path):
    lean = tmp_path / "bad.lean"
    lean.write_bytes(b"theorem t (p : Prop) : p \xff p := by\n")
    result = run("prove", "--file", str(lean), "--theorem", "t")
    assert result.returncode == 2 and "not valid UTF-8" in result.stderr


def test_prove_from_lean_file_and_graph_export(tmp_path):
    lean = tmp_path / "demo.lean"
    lean.write_text("theorem other (p : Prop) : p → p := by\n  intro h\n  exact h\n\n" + DEMO + "\n  sorry\n")
    for suffix in (".json", ".html", ".dot", ".graphml"):
        out = tmp_path / f"g{suffix}"
        result = run("prove", "--file", str(lean), "--theorem", "t", "--graph", str(out))
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "g.json").read_text())


def _records(directory: Path) -> list[dict]:
    lines = (directory / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        record.pop("timings")
        record["spent"].pop("seconds")
    return sorted(records, key=lambda r: (r["theorem"], r["attempt"]))


BENCH = ["bench", "--dataset", "sandbox-valid", "--policy", "best-first", "--max-expansions", "60",
         "--attempts", "2", "--concurrency", "4"]


def test_bench_killed_with_sigkill_resumes_to_the_same_results(tmp_path):
    reference = run(*BENCH, "--out", str(tmp_path / "ref"), timeout=600)
    assert reference.returncode == 0, reference.stderr
    expected = _records(tmp_path / "ref")
    assert len(expected) == 2 * 100  # the sandbox valid split, two attempts each

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen([*PROVER, *BENCH, "--out", str(killed_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = killed_dir / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.exists() and results.read_text().count("\n") >= 5:
            break
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = results.read_text().count("\n")
    assert 5 <= partial < len(expected), "the run must be killed mid-way for this test to mean anything"

    refused = run(*BENCH, "--out", str(killed_dir))
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = run(*BENCH, "--out", str(killed_dir), "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert _records(killed_dir) == expected

    report = run("report", str(tmp_path / "ref"), str(killed_dir), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| ref | best-first | 2 |" in text and "| killed | best-first | 2 |" in text
    assert (tmp_path / "report" / "budget_curve.png").exists() and (tmp_path / "report" / "pass_at_k.png").exists()


def test_bench_on_jsonl_with_broken_line(tmp_path):
    dataset = tmp_path / "d.jsonl"
    good = {"name": "a", "formal_statement": "theorem a (p : Prop) : p → p := by"}
    dataset.write_text(json.dumps(good) + "\n{broken\n")
    stop = run("bench", "--dataset", str(dataset), "--out", str(tmp_path / "r1"))
    assert stop.returncode == 2 and "d.jsonl:2: broken line" in stop.stderr
    assert not (tmp_path / "r1" / "results.jsonl").exists()
    skip = run("bench", "--dataset", str(dataset), "--out", str(tmp_path / "r2"), "--on-bad-line", "skip")
    assert skip.returncode == 0, skip.stderr
    assert "skipped" in skip.stderr and "1/1 theorems proved" in skip.stdout


def test_bench_refuses_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("bench", "--dataset", "sandbox-valid", "--limit", "1", "--out", str(blocker / "run"))
    assert result.returncode == 2 and "cannot write run directory" in result.stderr


def test_bench_ctrl_c_stops_cleanly_and_keeps_finished_results(tmp_path):
    args = [*BENCH, "--out", str(tmp_path / "run")]
    process = subprocess.Popen([*PROVER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = tmp_path / "run" / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (results.exists() and results.read_text().count("\n") >= 5):
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    kept = results.read_text()
    assert kept.endswith("\n") and 5 <= kept.count("\n") < 200
    assert all(json.loads(line)["theorem"] for line in kept.splitlines())
    resumed = run(*args, "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert len(_records(tmp_path / "run")) == 200


def test_exported_sandbox_split_runs_as_a_jsonl_dataset(tmp_path):
    exported = tmp_path / "valid.jsonl"
    result = run("data", "sandbox", "--split", "valid", "--out", str(exported))
    assert result.returncode == 0 and "wrote 100 sandbox valid theorems" in result.stdout
    first = json.loads(exported.read_text().splitlines()[0])
    assert first["formal_statement"].endswith(":= by") and first["proof"]
    bench = run("bench", "--dataset", str(exported), "--limit", "5", "--out", str(tmp_path / "run"))
    assert bench.returncode == 0, bench.stderr
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 5


def test_bench_setup_error_leaves_no_run_behind(tmp_path):
    dataset = tmp_path / "lean.jsonl"
    dataset.write_text(json.dumps({"name": "x", "formal_statement": "theorem x (n : Nat) : n = n := by"}) + "\n")
    env = {**os.environ, "PROVER_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PROVER_LEAN_PROJECT", None)
    for _ in range(2):  # the same command fails the same way again: no half-made run blocks it
        result = run("bench", "--dataset", str(dataset), "--out", str(tmp_path / "run"), env=env)
        assert result.returncode == 2 and "prover setup" in result.stderr, result.stderr
        assert not (tmp_path / "run" / "results.jsonl").exists()
