"""The CLI on the sandbox: prove, bench, report, policies and bad input run in-process
(click's ``CliRunner``); the real entry point, SIGKILL-and-resume and Ctrl-C run as
subprocesses, since only a real process can be killed or interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli.main import cli
from prover.runs import RESULTS_FILE

PROVER = [sys.executable, "-m", "prover.cli"]
DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"
REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict | None = None):
    """Run the CLI in this process; a traceback would surface as ``result.exception``."""
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_the_installed_entry_point_proves_and_prints_a_verified_proof():
    result = subprocess.run([*PROVER, "prove", DEMO], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "proved t (verified by sandbox" in result.stdout and DEMO in result.stdout


@pytest.mark.parametrize("policy", ["pass-n", "best-first", "beam", "rollouts", "mcts", "lookahead"])
def test_prove_with_each_policy(policy):
    result = invoke("prove", DEMO, "--policy", policy, "--max-expansions", "300", "--temperature", "1")
    assert result.exit_code == 0, result.output


def test_not_proved_exits_1_with_partial_state():
    result = invoke("prove", "theorem hard (p q r s : Prop) : ((p → q) → (r → s)) → (p ∨ r) → (q ∨ s) ∨ p := by",
                    "--max-expansions", "1")
    assert result.exit_code == 1, result.output
    assert "not proved hard: budget" in result.output and "best partial state" in result.output


@pytest.mark.parametrize("argv,needle", [
    (["prove", "theorem t (p : Prop) : (p ∧ := by"], "line 1"),
    (["prove", ""], "empty statement"),
    (["prove"], "exactly one of"),
    (["prove", DEMO, "--policy", "nope"], "unknown search policy 'nope'; choose from pass-n"),
    (["prove", DEMO, "--param", "k"], "KEY=VALUE"),
    (["prove", DEMO, "--param", "alpha=nan"], "BestFirst.alpha must be a finite number >= 0, got 'nan'"),
    (["prove", DEMO, "--param", "k=true"], "BestFirst.k must be an integer >= 1, got True"),
    (["prove", DEMO, "--param", "depth=3"], "unknown parameter(s) 'depth' for policy 'best-first'; valid: k, alpha"),
    (["prove", DEMO, "--set", "budget.max_expansion=3"], "unknown key(s) in [budget]: max_expansion"),
    (["prove", DEMO, "--workers", "0"], "EnvLimits.workers must be a positive number, got 0"),
    (["prove", DEMO, "--model", "/no/such/model"], "/no/such/model"),
    (["prove", "theorem t (x : Nat) : x = x := by", "--env", "auto"], "prover setup"),
    (["prove", "--minif2f", "no_such_theorem", "--minif2f-path", "../shared/datasets/minif2f/minif2f_lean4.jsonl"], "unknown MiniF2F"),
    (["bench", "--dataset", "nope", "--out", "/nonexistent/prover-test-run"], "unknown dataset 'nope': use sandbox:train|valid|test"),
    (["bench", "--dataset", "sandbox:dev", "--out", "/nonexistent/prover-test-run"], "unknown sandbox split 'dev'"),
    (["prove", DEMO, "--env", "leandojo"], "leandojo_repo"),
    (["policies", "dfs"], "unknown search policy 'dfs'"),
])
def test_user_errors_are_one_line_with_exit_2(argv, needle, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PROVER_CACHE_DIR", "/nonexistent/prover-cache")
    monkeypatch.delenv("PROVER_LEAN_PROJECT", raising=False)
    result = invoke(*argv)
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) <= 3, result.output


def test_policies_lists_every_parameter_from_the_definitions():
    result = invoke("policies")
    assert result.exit_code == 0
    for line in ("best-first (tactic proposer)", "  alpha: float = 0.0", "pass-n (proof proposer)",
                 "  per_call: int = 8", "  reward: auto|value|intrinsic = auto", "  value_weight: float = 1.0"):
        assert line in result.output


def test_non_utf8_statement_is_refused(tmp_path):
    lean = tmp_path / "bad.lean"
    lean.write_bytes(b"theorem t (p : Prop) : p \xff p := by\n")
    result = invoke("prove", "--file", str(lean), "--theorem", "t")
    assert result.exit_code == 2 and "not valid UTF-8" in result.output


def test_prove_from_lean_file_and_graph_export(tmp_path):
    lean = tmp_path / "demo.lean"
    lean.write_text("theorem other (p : Prop) : p → p := by\n  intro h\n  exact h\n\n" + DEMO + "\n  sorry\n")
    for suffix in (".json", ".html", ".dot", ".graphml"):
        out = tmp_path / f"g{suffix}"
        result = invoke("prove", "--file", str(lean), "--theorem", "t", "--graph", str(out))
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "g.json").read_text())


def _records(directory: Path) -> list[dict]:
    lines = (directory / RESULTS_FILE).read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        record.pop("timings")
        record["spent"].pop("seconds")
    return sorted(records, key=lambda r: (r["theorem"], r["attempt"]))


BENCH = ["bench", "--dataset", "sandbox:valid", "--limit", "50", "--policy", "best-first", "--max-expansions", "60",
         "--attempts", "2", "--concurrency", "4"]


def _wait_for_lines(path: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (path.exists() and path.read_text().count("\n") >= count):
        time.sleep(0.005)


def test_bench_killed_with_sigkill_resumes_to_the_same_results(tmp_path):
    reference = invoke(*BENCH, "--out", str(tmp_path / "ref"))
    assert reference.exit_code == 0, reference.output
    expected = _records(tmp_path / "ref")
    assert len(expected) == 2 * 50

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen([*PROVER, *BENCH, "--out", str(killed_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = killed_dir / RESULTS_FILE
    _wait_for_lines(results, 5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = results.read_text().count("\n")
    assert 5 <= partial < len(expected), "the run must be killed mid-way for this test to mean anything"

    refused = invoke(*BENCH, "--out", str(killed_dir))
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = invoke(*BENCH, "--out", str(killed_dir), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert _records(killed_dir) == expected

    report = invoke("report", str(tmp_path / "ref"), str(killed_dir), "--out", str(tmp_path / "report"))
    assert report.exit_code == 0, report.output
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| ref | best-first | k=8, alpha=0.0, value_weight=1.0 |" in text and "| killed | best-first | k=8, alpha=0.0, value_weight=1.0 |" in text
    assert "identical (a deterministic setting, temperature 0)" in text
    assert (tmp_path / "report" / "budget_curve.png").exists() and (tmp_path / "report" / "pass_at_k.png").exists()


def test_bench_ctrl_c_stops_cleanly_and_keeps_finished_results(tmp_path, interruptible):
    args = [*BENCH, "--out", str(tmp_path / "run")]
    process = subprocess.Popen([*PROVER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **interruptible)
    results = tmp_path / "run" / RESULTS_FILE
    _wait_for_lines(results, 5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    kept = results.read_text()
    assert kept.endswith("\n") and 5 <= kept.count("\n") < 100
    assert all(json.loads(line)["theorem"] for line in kept.splitlines())
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert len(_records(tmp_path / "run")) == 100


def test_bench_on_jsonl_with_broken_line(tmp_path):
    dataset = tmp_path / "d.jsonl"
    good = {"name": "a", "formal_statement": "theorem a (p : Prop) : p → p := by"}
    dataset.write_text(json.dumps(good) + "\n{broken\n")
    stop = invoke("bench", "--dataset", str(dataset), "--out", str(tmp_path / "r1"))
    assert stop.exit_code == 2 and "d.jsonl:2: broken line" in stop.output
    assert not (tmp_path / "r1" / RESULTS_FILE).exists()
    skip = invoke("bench", "--dataset", str(dataset), "--out", str(tmp_path / "r2"), "--on-bad-line", "skip")
    assert skip.exit_code == 0, skip.output
    assert "skipped" in skip.output and "1/1 theorems proved" in skip.output


def test_bench_refuses_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("bench", "--dataset", "sandbox:valid", "--limit", "1", "--out", str(blocker / "run"))
    assert result.exit_code == 2 and "cannot write run directory" in result.output


def test_exported_sandbox_split_runs_as_a_jsonl_dataset(tmp_path):
    exported = tmp_path / "valid.jsonl"
    result = invoke("data", "sandbox", "--split", "valid", "--out", str(exported))
    assert result.exit_code == 0 and "wrote 100 sandbox valid theorems" in result.output
    first = json.loads(exported.read_text().splitlines()[0])
    assert first["formal_statement"].endswith(":= by") and first["proof"]
    bench = invoke("bench", "--dataset", str(exported), "--limit", "5", "--out", str(tmp_path / "run"))
    assert bench.exit_code == 0, bench.output
    assert len((tmp_path / "run" / RESULTS_FILE).read_text().splitlines()) == 5


def test_bench_setup_error_leaves_no_run_behind(tmp_path, monkeypatch):
    dataset = tmp_path / "lean.jsonl"
    dataset.write_text(json.dumps({"name": "x", "formal_statement": "theorem x (n : Nat) : n = n := by"}) + "\n")
    monkeypatch.setenv("PROVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PROVER_LEAN_PROJECT", raising=False)
    for _ in range(2):  # the same command fails the same way again: no half-made run blocks it
        result = invoke("bench", "--dataset", str(dataset), "--out", str(tmp_path / "run"))
        assert result.exit_code == 2 and "prover setup" in result.output, result.output
        assert not (tmp_path / "run" / RESULTS_FILE).exists()


@pytest.mark.parametrize("argv, code", [
    (["prove", DEMO], 0),
    (["prove", "theorem hard (p q r s : Prop) : ((p → q) → (r → s)) → (p ∨ r) → (q ∨ s) ∨ p := by",
      "--max-expansions", "1"], 1),
    (["policies"], 0),
])
def test_a_closed_pipe_exits_as_if_the_output_had_been_read(argv, code):
    # `prover prove ... | head -1`: the reader is gone before the command writes.
    process = subprocess.Popen([*PROVER, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == code, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr
