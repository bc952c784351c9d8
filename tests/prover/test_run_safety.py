"""Runs a researcher can trust: one writer per run directory, resume only with changes that
cannot alter finished records (a changed theorem refused by name, or re-run by flag), a
full disk reported in one line with nothing lost, and every kind of damaged line handled."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.runs import (
    DAMAGED_FILE,
    LOCK_FILE,
    MANIFEST_FILE,
    RESULTS_FILE,
    SUPERSEDED_FILE,
    AttemptRecord,
    CheckRecord,
    Run,
    RunError,
    RunStore,
    build_manifest,
    scan_results,
)

PROVER = [sys.executable, "-m", "prover.cli"]
TAUTOLOGY = "theorem {name} (p q : Prop) : p ∧ q → q ∧ p := by"
NOT_A_THEOREM = "theorem {name} (p q : Prop) : p → q := by"


def dataset(path: Path, count: int = 4, *, broken: tuple[str, ...] = ()) -> Path:
    """A JSONL dataset of ``count`` tautologies; names in ``broken`` are non-theorems instead."""
    lines = [json.dumps({"name": f"t{i}", "formal_statement": (NOT_A_THEOREM if f"t{i}" in broken else TAUTOLOGY)
                         .format(name=f"t{i}")}) for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def records(directory: Path) -> list[tuple[str, int, str]]:
    return sorted((r.theorem, r.attempt, r.status) for r in Run.load(directory).records)


def _record(theorem: str, attempt: int = 0) -> AttemptRecord:
    return AttemptRecord(theorem=theorem, attempt=attempt, seed=attempt, status="proved", proof="simp", verified=True)


# ---------------------------------------------------------------------------- one writer


def test_a_second_store_on_a_directory_in_use_is_refused_naming_the_holder(tmp_path):
    manifest = build_manifest(config={}, dataset={}, argv=[])
    first = RunStore(tmp_path, resume=False)
    racing = RunStore(tmp_path, resume=True)  # made before the first one opened: refused at open
    first.open(manifest)
    first.append(_record("a"))
    with pytest.raises(RunError, match=rf"is in use by another run \(pid {os.getpid()} on "):
        RunStore(tmp_path, resume=True)
    with pytest.raises(RunError, match="is in use"):
        racing.open(manifest)
    first.close()
    second = RunStore(tmp_path, resume=True)
    second.open(manifest)
    assert second.finished == {("a", 0)} and second.notices == []
    second.close()
    assert (tmp_path / LOCK_FILE).read_text() == ""  # released cleanly


def test_a_second_bench_on_a_busy_out_is_one_line_exit_2_and_the_report_stays_right(tmp_path, invoke):
    data = dataset(tmp_path / "d.jsonl", 30)
    out = tmp_path / "run"
    args = ["bench", "--dataset", str(data), "--attempts", "2", "--concurrency", "1", "--out", str(out)]
    first = subprocess.Popen([*PROVER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / RESULTS_FILE).exists():
        time.sleep(0.01)
    second = invoke(*args, "--resume")
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.exit_code == 2 and "is in use by another run (pid" in second.output, second.output
    assert len(second.output.strip().splitlines()) == 1
    assert len(records(out)) == 60 and len({(t, a) for t, a, _ in records(out)}) == 60
    report = invoke("report", str(out))
    assert report.exit_code == 0 and "| 2 | 30 | 30/30 (100.0%)" in report.output, report.output


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    lock = tmp_path / LOCK_FILE
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, b'pid %d on a host since then' % os.getpid())\n"
        "print('locked', flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunError, match=rf"in use by another run \(pid {holder.pid} on a host since then\)"):
        RunStore(tmp_path, resume=True)
    holder.kill()
    holder.wait()
    store = RunStore(tmp_path, resume=True)
    store.open(build_manifest(config={}, dataset={}, argv=[]))
    assert store.notices == [f"{tmp_path}: took over the lock of a run that stopped without releasing it "
                             f"(pid {holder.pid} on a host since then)"]
    store.close()


# ---------------------------------------------------------------------------- resume rules


def test_resume_refuses_a_changed_theorem_by_name_or_reruns_just_it(tmp_path, invoke):
    data = dataset(tmp_path / "d.jsonl", 4)
    out = tmp_path / "run"
    assert invoke("bench", "--dataset", str(data), "--out", str(out)).exit_code == 0
    dataset(data, 4, broken=("t2",))  # t2 edited into a non-theorem
    refused = invoke("bench", "--dataset", str(data), "--out", str(out), "--resume")
    assert refused.exit_code == 2 and "theorem 't2' changed since its records were made" in refused.output
    assert "--rerun-changed" in refused.output and len(refused.output.strip().splitlines()) == 1
    rerun = invoke("bench", "--dataset", str(data), "--out", str(out), "--resume", "--rerun-changed")
    assert rerun.exit_code == 0, rerun.output
    assert "3/4 theorems proved" in rerun.output and "1 changed theorem(s) will be proved again (t2)" in rerun.output
    assert records(out) == [("t0", 0, "proved"), ("t1", 0, "proved"), ("t2", 0, "failed"), ("t3", 0, "proved")]
    old = [json.loads(line) for line in (out / SUPERSEDED_FILE).read_text().splitlines()]
    assert [(r["theorem"], r["status"]) for r in old] == [("t2", "proved")]
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["resumes"][-1]["rerun"] == ["t2"]
    assert invoke("bench", "--dataset", str(data), "--out", str(out), "--rerun-changed").exit_code == 2


def test_resume_accepts_concurrency_more_attempts_and_a_larger_limit(tmp_path, invoke):
    out = tmp_path / "run"
    base = ["bench", "--dataset", "sandbox:valid", "--max-expansions", "20", "--out", str(out)]
    assert invoke(*base, "--limit", "3").exit_code == 0
    grown = invoke(*base, "--limit", "5", "--attempts", "2", "--concurrency", "3", "--resume")
    assert grown.exit_code == 0, grown.output
    assert len(records(out)) == 10
    changed = json.loads((out / MANIFEST_FILE).read_text())["resumes"][-1]["changed"]
    assert changed == {"dataset.count": [3, 5], "run.attempts": [1, 2], "scheduler.max_concurrent": [32, 3]}


def test_resume_accepts_a_change_of_where_searches_run_on_ray(tmp_path, invoke):
    # [ray] settings say where searches run, not what they find; Ray is not started here
    out = tmp_path / "run"
    base = ["bench", "--dataset", "sandbox:valid", "--max-expansions", "20", "--out", str(out)]
    assert invoke(*base, "--limit", "2", "--set", "ray.address=10.0.0.1:6379", "--set", "ray.workers=2").exit_code == 0
    moved = invoke(*base, "--limit", "3", "--set", "ray.address=auto", "--set", "ray.workers=8",
                   "--set", "ray.model_actors=0", "--set", "ray.worker_cpus=2", "--resume")
    assert moved.exit_code == 0, moved.output
    assert len(records(out)) == 3
    changed = json.loads((out / MANIFEST_FILE).read_text())["resumes"][-1]["changed"]
    assert changed == {"dataset.count": [2, 3], "ray.address": ["10.0.0.1:6379", "auto"], "ray.workers": [2, 8],
                       "ray.model_actors": [None, 0], "ray.worker_cpus": [None, 2.0]}


@pytest.mark.parametrize("flags, field", [
    (["--max-expansions", "21"], "budget.max_expansions (20 in the run, 21 now)"),
    (["--policy", "beam"], "policy.name (\"best-first\" in the run, \"beam\" now)"),
    (["--param", "k=4"], "policy.params.k (8 in the run, 4 now)"),
    (["--seed", "3"], "run.seed (0 in the run, 3 now)"),
    (["--attempts", "1"], "run.attempts (2 in the run, 1 now)"),
    (["--limit", "2"], "dataset.count (3 in the run, 2 now)"),
    (["--temperature", "1"], "model.temperature (null in the run, 1.0 now)"),
])
def test_resume_refuses_any_other_change_naming_the_field(tmp_path, flags, field, invoke):
    out = tmp_path / "run"
    base = ["bench", "--dataset", "sandbox:valid", "--max-expansions", "20", "--limit", "3", "--out", str(out)]
    assert invoke(*base, "--attempts", "2").exit_code == 0
    changed = [*base, "--attempts", "2", *flags] if "--attempts" not in flags else [*base, *flags]
    result = invoke(*changed, "--resume")
    assert result.exit_code == 2 and f"--resume cannot change {field}" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_of_an_older_version_resumes_with_a_notice(tmp_path):
    manifest = build_manifest(config={"policy": {"name": "beam"}}, dataset={"count": 1}, argv=[])
    with RunStore(tmp_path, resume=False) as store:
        store.open({**manifest, "theorems": {}})
        store.append(_record("a"))
    older = json.loads((tmp_path / MANIFEST_FILE).read_text())
    del older["theorems"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(older))
    with RunStore(tmp_path, resume=True) as store:
        store.open(manifest)
        assert store.finished == {("a", 0)} and "no theorem hashes" in store.notices[0]


# ---------------------------------------------------------------------------- a full disk


def test_a_full_disk_is_one_line_exit_2_and_resume_finishes_the_same_run(tmp_path, monkeypatch, invoke):
    reference = tmp_path / "ref"
    args = ["bench", "--dataset", "sandbox:valid", "--limit", "12", "--max-expansions", "20"]
    assert invoke(*args, "--out", str(reference)).exit_code == 0
    out = tmp_path / "run"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > 6:  # the manifest's two, then the first records
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    full = invoke(*args, "--out", str(out))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert full.exit_code == 2 and "No space left on device" in full.output and "Traceback" not in full.output
    assert len(full.output.strip().splitlines()) == 1 and "continue with --resume" in full.output
    kept = (out / RESULTS_FILE).read_bytes()
    assert kept.endswith(b"\n") and scan_results(out / RESULTS_FILE).clean
    assert 0 < len(kept.splitlines()) < 12
    assert invoke(*args, "--out", str(out), "--resume").exit_code == 0
    assert records(out) == records(reference)


def test_a_real_write_limit_in_a_subprocess_is_one_line_and_loses_nothing(tmp_path, invoke):
    out = tmp_path / "run"
    args = ["bench", "--dataset", "sandbox:valid", "--limit", "12", "--max-expansions", "20", "--out", str(out)]
    limit = 3000  # bytes any file of the process may grow to: the manifest fits, a few records do
    result = subprocess.run([*PROVER, *args], capture_output=True, text=True, timeout=300,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode == 2, result.stderr
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert scan_results(out / RESULTS_FILE).clean and 0 < len(records(out)) < 12
    assert invoke(*args, "--resume").exit_code == 0 and len(records(out)) == 12


# ---------------------------------------------------------------------------- damaged lines


def _good_line(theorem: str) -> bytes:
    return (_record(theorem).to_json() + "\n").encode()


DAMAGE = {
    "torn last line": lambda good: good + b'{"theorem": "t2", "att',
    "damaged last line ending in a newline": lambda good: good + b'{"theorem": "t2", "att\n',
    "garbled middle line": lambda good: b"{not json\n" + good,
    "JSON that is not a record": lambda good: b"[1, 2]\nnull\n" + good + b'{"theorem": 3}\n',
    "a record with wrong types": lambda good: good + json.dumps({**json.loads(_good_line("t3")), "attempt": "x"}).encode() + b"\n",
    "bytes that are not UTF-8": lambda good: good + b'{"theorem": "\xff\xfe"}\n',
    "NUL bytes left by a crash": lambda good: good + b"\0" * 300,
    "a duplicate record": lambda good: good + _good_line("t0"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_damaged_line_case_is_reported_skipped_and_repaired_on_resume(tmp_path, damage, invoke):
    data = dataset(tmp_path / "d.jsonl", 4)
    out = tmp_path / "run"
    assert invoke("bench", "--dataset", str(data), "--limit", "2", "--out", str(out)).exit_code == 0
    good = (out / RESULTS_FILE).read_bytes()
    (out / RESULTS_FILE).write_bytes(DAMAGE[damage](good))
    report = invoke("report", str(out))
    assert report.exit_code == 0 and "2 of 2" not in report.output and "| 2 | 2/2 (100.0%)" in report.output
    if damage != "torn last line":
        assert "not records skipped (line" in report.output
    resumed = invoke("bench", "--dataset", str(data), "--out", str(out), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert [r[:2] for r in records(out)] == [(f"t{i}", 0) for i in range(4)]
    assert scan_results(out / RESULTS_FILE).clean
    assert (out / DAMAGED_FILE).exists()  # what was set aside is kept
    again = invoke("bench", "--dataset", str(data), "--out", str(out), "--resume")
    assert again.exit_code == 0 and "4/4 theorems proved" in again.output
    assert "not records skipped" not in invoke("report", str(out)).output


def test_records_of_another_schema_are_refused_in_one_line(tmp_path, invoke):
    out = tmp_path / "run"
    out.mkdir()
    (out / RESULTS_FILE).write_text(json.dumps({**json.loads(_good_line("a")), "schema": 9}) + "\n")
    for argv in (["report", str(out)], ["bench", "--dataset", "sandbox:valid", "--out", str(out), "--resume"]):
        result = invoke(*argv)
        assert result.exit_code == 2 and "results schema 9 is not supported" in result.output


@pytest.mark.parametrize("content, manifest, message", [
    (b"", "{}", "no results records to report on"),
    (b"\n\n", "{}", "no results records to report on"),
    (b"garbage\n{\n[]\n", "{}", "no results records to report on (" ),
    (_good_line("a"), "[]", "manifest.json: not a run manifest (a JSON object is expected)"),
    (_good_line("a"), "{", "manifest.json: not valid JSON"),
])
def test_a_run_without_any_record_or_with_a_broken_manifest_is_one_line_exit_2(tmp_path, content, manifest, message, invoke):
    out = tmp_path / "run"
    out.mkdir()
    (out / RESULTS_FILE).write_bytes(content)
    (out / MANIFEST_FILE).write_text(manifest)
    result = invoke("report", str(out))
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "No artists" not in result.output


def test_check_verdicts_get_the_same_store_damaged_lines_set_aside_and_the_lock(tmp_path):
    # 'prover check' writes CheckRecords through RunStore: what holds for runs holds for it
    manifest = build_manifest(config={"command": "check"}, dataset={"proofs": 3}, argv=[])
    verdict = CheckRecord(name="t", index=0, status="ok", checker="sandbox", messages=("info 1:0: fine",), axioms=())
    with RunStore(tmp_path, resume=False, record_type=CheckRecord) as store:
        store.open(manifest)
        store.append(verdict)
        with pytest.raises(RunError, match="in use by another run"):
            RunStore(tmp_path, resume=True, record_type=CheckRecord)
    with open(tmp_path / RESULTS_FILE, "ab") as handle:
        handle.write(b'{"name": "t", "index": "x", "status": "ok", "schema": 1}\n' + verdict.to_json().encode() + b"\n")
    with RunStore(tmp_path, resume=True, record_type=CheckRecord) as store:
        store.open(manifest)
        assert store.records == [verdict] and "line 2: field 'index' is not int" in store.notices[0]
        assert "duplicate of line 1" in store.notices[0]
    assert scan_results(tmp_path / RESULTS_FILE, CheckRecord).clean and (tmp_path / DAMAGED_FILE).exists()
