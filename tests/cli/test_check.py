"""``prover check`` end to end: .lean files and JSONL on the sandbox, resume, input
errors, and the Lean REPL path through a stand-in ``lake`` that runs the stand-in REPL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli.main import cli
from prover.runs import RESULTS_FILE

HERE = Path(__file__).resolve().parent
FAKE_REPL = HERE.parent / "repl" / "fake_repl.py"
TRANSCRIPTS = HERE.parents[1].parent / "shared" / "datasets" / "lean_repl_transcripts" / "request_response_pairs.jsonl"
TACTIC_DATA = TRANSCRIPTS.parents[1] / "tactic_data"

FILE = """theorem swap (p q : Prop) : p ∧ q → q ∧ p := by
  intro h
  exact ⟨h.2, h.1⟩

theorem wrong (p q : Prop) : p ∨ q → p := by
  intro h
  exact h

/-- uses sorry -/
@[simp] private theorem cheat (p : Prop) : p := by
  sorry

theorem term_mode (p : Prop) : p → p := fun h => h

lemma coded (p : Prop) : p → p := by
  run_tac pure ()
"""


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["check", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def verdicts(result) -> dict[str, dict]:
    """The JSON verdict lines of stdout, by name (CliRunner mixes stderr in: skip those lines)."""
    out = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return {f"{v['name']}#{v['index']}": v for v in out}


@pytest.fixture(autouse=True)
def no_lean(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PROVER_CACHE_DIR", "/nonexistent/prover-cache")
    monkeypatch.delenv("PROVER_LEAN_PROJECT", raising=False)
    monkeypatch.delenv("PROVER_REPL_BIN", raising=False)


def test_every_theorem_of_a_lean_file_gets_a_verdict(tmp_path: Path) -> None:
    lean = tmp_path / "mine.lean"
    lean.write_text(FILE)
    result = invoke(str(lean))
    assert result.exit_code == 1, result.output
    got = verdicts(result)
    assert {k: v["status"] for k, v in got.items()} == {
        "swap#0": "ok", "wrong#0": "failed", "cheat#0": "failed", "term_mode#0": "skipped", "coded#0": "failed",
    }
    assert got["swap#0"]["checker"] == "sandbox" and got["swap#0"]["source"] == f"{lean}:1"
    assert got["cheat#0"]["source"] == f"{lean}:9"  # the declaration starts at its doc comment
    assert got["cheat#0"]["failure"] == "rejected" and "sorry" in got["cheat#0"]["reason"]
    assert got["coded#0"]["failure"] == "rejected" and "run-code" in got["coded#0"]["reason"]
    assert "checked 5 of 5 proofs with sandbox: 1 ok, 3 failed, 1 skipped" in result.output
    assert "no Lean project configured" in result.output


def test_one_theorem_by_name(tmp_path: Path) -> None:
    lean = tmp_path / "mine.lean"
    lean.write_text(FILE)
    ok = invoke(str(lean), "--theorem", "swap")
    assert ok.exit_code == 0 and list(verdicts(ok)) == ["swap#0"]
    for name, needle in [("term_mode", "mine.lean:13: theorem 'term_mode' has no ':= by'"), ("nope", "no theorem named 'nope'")]:
        result = invoke(str(lean), "--theorem", name)
        assert result.exit_code == 2 and needle in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_jsonl_in_both_model_output_shapes(tmp_path: Path) -> None:
    records = [
        {"name": "swap", "formal_statement": "theorem swap (p q : Prop) : p ∧ q → q ∧ p := by sorry",
         "proof": "\n  intro h\n  exact ⟨h.2, h.1⟩"},
        {"name": "swap", "formal_statement": "theorem swap (p q : Prop) : p ∧ q → q ∧ p := by", "proof": "  intro h\n  exact h"},
        {"name": "imp", "code": "theorem helper (p : Prop) : p → p := by\n  intro h\n  exact h\n\n"
                                "theorem imp (p : Prop) : p → p := by\n  exact helper p\n"},
        {"name": "bad", "formal_statement": "theorem bad (p : Prop) : p → p", "proof": "intro h; exact h"},
        {"name": "sneaky", "formal_statement": "theorem sneaky (p : Prop) : p := by", "proof": "exact «sorryAx» _ false"},
        {"name": "macro", "code": "macro \"cheat\" : tactic => `(tactic| sorry)\ntheorem macro (p : Prop) : p := by\n  cheat\n"},
    ]
    jsonl = tmp_path / "outputs.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    result = invoke(str(jsonl))
    assert result.exit_code == 1, result.output
    got = verdicts(result)
    assert got["swap#0"]["status"] == "ok" and got["swap#1"]["status"] == "failed"  # two attempts at one theorem
    assert got["imp#0"]["status"] == "failed"  # the sandbox knows no helper lemmas: a Lean-only proof
    assert got["bad#0"]["failure"] == "statement" and "':= by'" in got["bad#0"]["reason"]
    assert got["sneaky#0"]["failure"] == "rejected" and "sorry" in got["sneaky#0"]["reason"]
    assert got["macro#0"]["failure"] == "rejected" and "context rejected (new-command)" in got["macro#0"]["reason"]
    assert got["swap#0"]["source"] == f"{jsonl}:1"


def test_resume_judges_each_proof_once_and_recovers_a_torn_line(tmp_path: Path) -> None:
    lean = tmp_path / "mine.lean"
    lean.write_text(FILE)
    out = tmp_path / "run"
    first = invoke(str(lean), "--out", str(out))
    assert first.exit_code == 1 and len(verdicts(first)) == 5
    lines = (out / RESULTS_FILE).read_text().splitlines()
    assert len(lines) == 5 and json.loads((out / "manifest.json").read_text())["config"]["command"] == "check"
    again = invoke(str(lean), "--out", str(out))
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = invoke(str(lean), "--out", str(out), "--resume")
    assert resumed.exit_code == 1 and verdicts(resumed) == {}  # nothing left to judge, the failures still count
    assert "checked 5 of 5 proofs" in resumed.output
    (out / RESULTS_FILE).write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])  # killed mid-write
    torn = invoke(str(lean), "--out", str(out), "--resume")
    assert len(verdicts(torn)) == 2 and len((out / RESULTS_FILE).read_text().splitlines()) == 5


@pytest.mark.parametrize(
    ("setup", "args", "needle"),
    [
        (None, ["missing.lean"], "cannot read"),
        ("notes.txt", ["notes.txt"], "expected a .lean or .jsonl file"),
        ("broken.jsonl", ["broken.jsonl"], "broken.jsonl:2: broken line"),
        ("empty.jsonl", ["empty.jsonl"], "no proofs to check"),
        ("nothing.lean", ["nothing.lean"], "no theorem or lemma to check"),
        ("mine.lean", ["mine.lean", "--resume"], "--resume needs --out"),
        ("unterminated.lean", ["unterminated.lean"], "unterminated comment"),
        ("mine.lean", ["mine.lean", "--set", "env.kind=leandojo"], "LeanDojo only reaches theorems inside a traced repository"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup, args, needle) -> None:
    monkeypatch.chdir(tmp_path)
    contents = {"notes.txt": "x", "broken.jsonl": '{"name": "a", "code": "theorem a : True := by\\n  trivial"}\n{broken\n',
                "empty.jsonl": "\n", "nothing.lean": "-- nothing here\n", "mine.lean": FILE,
                "unterminated.lean": "theorem t : True := by\n  /- never closed\n"}
    if setup:
        Path(setup).write_text(contents[setup])
    result = invoke(*args)
    assert result.exit_code == 2 and needle in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def stand_in_lean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Lean project whose ``lake env`` is a stand-in running the stand-in REPL."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lake = bin_dir / "lake"
    lake.write_text('#!/bin/sh\n# stand-in for `lake env CMD...`\nshift\nexec "$@"\n')
    repl = bin_dir / "repl"
    repl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_REPL}" --transcripts "{TRANSCRIPTS}" "$@"\n')
    for script in (lake, repl):
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    project = tmp_path / "project"
    project.mkdir()
    (project / "lakefile.toml").write_text('name = "p"\n')
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PROVER_REPL_BIN", str(repl))
    return project


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_the_lean_repl_path_with_a_forged_reply_among_the_proofs(tmp_path: Path, stand_in_lean: Path) -> None:
    statement = "theorem t_and (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by"
    records = [
        {"name": "t_and", "formal_statement": statement, "proof": "constructor\nexact h\nnorm_num"},
        {"name": "t_and", "formal_statement": statement, "proof": "constructor\nexact h"},
        {"name": "t_and", "formal_statement": statement, "proof": "__forge combined\nconstructor\nexact h"},
        {"name": "t_and", "formal_statement": statement, "proof": "constructor\nexact h\nnative_decide"},
    ]
    jsonl = tmp_path / "outputs.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    result = invoke(str(jsonl), "--env", "repl", "--lean-project", str(stand_in_lean), "--workers", "2")
    assert result.exit_code == 1, result.output
    got = verdicts(result)
    assert got["t_and#0"]["status"] == "ok" and got["t_and#0"]["axioms"] == ["propext", "Classical.choice", "Quot.sound"]
    assert got["t_and#0"]["checker"] == "lean-repl"
    assert got["t_and#1"]["failure"] == "error" and got["t_and#1"]["messages"][0].startswith("error ")
    assert got["t_and#2"]["failure"] == "crash" and "out of step" in got["t_and#2"]["reason"]
    assert got["t_and#3"]["failure"] == "rejected"
    allowed = invoke(str(jsonl), "--env", "repl", "--lean-project", str(stand_in_lean), "--allow-native-decide")
    assert verdicts(allowed)["t_and#3"]["status"] == "ok"
    assert "checked 4 of 4 proofs with lean-repl: 2 ok, 2 failed, 0 skipped" in allowed.output


def test_real_model_outputs_are_read_in_every_shape() -> None:
    """Every record of the shared valid-split proof files becomes one checkable item (no
    Lean runs here: this is the reading, not the verdicts)."""
    from prover.check import read_inputs
    from prover.data.minif2f import MINIF2F_HEADER

    files = sorted(TACTIC_DATA.glob("*.jsonl"))
    items = read_inputs(files, theorem=None, default_header=MINIF2F_HEADER)
    assert len(items) == sum(len(f.read_text().splitlines()) for f in files) == 384
    problems = [(i.source, i.reason) for i in items if i.theorem is None]
    assert problems == []
    seed = {i.name: i for i in items if "seed_prover" in i.source}
    assert seed["imo_2006_p3"].theorem.name == "imo_2006_p6"  # stored under its canonical name: the last theorem is taken
    assert all(i.theorem.name == name for name, i in seed.items() if name != "imo_2006_p3")
    assert seed["aime_1991_p6"].theorem.header.count("\nlemma round") == 4  # the helper lemmas its proof uses


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_ctrl_c_keeps_every_verdict_and_resume_finishes_with_a_timeout_verdict(tmp_path: Path, stand_in_lean: Path,
                                                                               interruptible: dict) -> None:
    statement = "theorem t_and (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by"
    proofs = ["constructor\nexact h\nnorm_num", "constructor\nexact h", "__sleep 30"]
    jsonl = tmp_path / "outputs.jsonl"
    jsonl.write_text("".join(json.dumps({"name": "t_and", "formal_statement": statement, "proof": p}) + "\n" for p in proofs))
    out = tmp_path / "run"
    args = [sys.executable, "-m", "prover.cli", "check", str(jsonl), "--env", "repl", "--lean-project", str(stand_in_lean),
            "--out", str(out), "--set", "env.limits.verify_timeout_s=3"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parents[1],
                               **interruptible)
    first = process.stdout.readline()
    assert json.loads(first)["name"] == "t_and"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "continue with --resume" in stderr and "Traceback" not in stderr, stderr
    kept = (out / RESULTS_FILE).read_text().splitlines()
    assert 1 <= len(kept) <= 3 and first.strip() in kept
    started = time.monotonic()
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120, cwd=HERE.parents[1])
    assert resumed.returncode == 1, resumed.stderr
    records = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
    assert sorted(r["index"] for r in records) == [0, 1, 2]  # each proof judged exactly once
    by_index = {r["index"]: r for r in records}
    assert (by_index[0]["status"], by_index[1]["failure"], by_index[2]["failure"]) == ("ok", "error", "timeout")
    assert time.monotonic() - started < 60  # bounded by the verify timeout, not the 30 s tactic
