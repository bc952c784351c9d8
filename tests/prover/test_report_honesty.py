"""Reports that never overstate: incomplete runs over their planned theorems, differing
theorem sets flagged (and comparable on the common set), settings in the table, intervals
on every rate, per-theorem differences, flat pass@k of deterministic settings flagged, a
compute axis comparable across policy kinds, and errors in every summary line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from prover.cli.main import cli
from prover.report import (
    BUDGET_AXES,
    bootstrap_interval,
    budget_curve,
    compare,
    render_markdown,
    render_report,
    summarize,
    wilson_interval,
)
from prover.runs import AttemptRecord, Run, build_manifest


def record(theorem: str, attempt: int = 0, proved: bool = True, *, proof: str | None = None, tokens: int = 10,
           status: str | None = None, error: str | None = None) -> AttemptRecord:
    status = status or ("proved" if proved else "failed")
    return AttemptRecord(theorem=theorem, attempt=attempt, seed=attempt, status=status, verified=proved,
                         proof=proof or ("simp" if proved else None), error=error,
                         spent={"tokens": tokens, "samples": 1, "env_calls": 2}, category="c")


def manifest(names, *, attempts: int = 1, temperature=None, proposer: str = "auto", policy: str = "best-first"):
    config = {"policy": {"name": policy, "params": {"k": 8}}, "budget": {"max_expansions": 50, "max_seconds": None},
              "model": {"proposer": proposer, "path": None, "temperature": temperature},
              "run": {"seed": 0, "attempts": attempts}}
    made = build_manifest(config=config, dataset={"name": "d", "count": len(names)}, argv=[])
    made["theorems"] = {name: f"hash-{name}" for name in names}
    return made


NAMES = [f"t{i}" for i in range(10)]


def test_an_interrupted_run_is_marked_n_of_m_with_its_rate_over_m():
    run = Run(manifest=manifest(NAMES), records=tuple(record(n, proved=i < 4) for i, n in enumerate(NAMES[:6])),
              name="cut")
    summary = summarize(run)
    assert (summary.theorems, summary.finished, summary.proved, summary.rate) == (10, 6, 4, 0.4)
    text = render_markdown([summary])
    assert "| 6 of 10 (incomplete) | 4/10 (40.0%) [16.8–68.7%] |" in text
    assert "cut is incomplete: 6 of 10 theorems have all 1 attempt(s) recorded" in text
    assert dict((c, (p, n)) for c, p, n in summary.by_category) == {"c": (4, 6), "(not run)": (0, 4)}


def test_runs_over_different_theorems_warn_and_can_be_compared_on_the_common_set(tmp_path):
    full = Run(manifest=manifest(NAMES), records=tuple(record(n, proved=i % 2 == 0) for i, n in enumerate(NAMES)),
               name="full")
    part = Run(manifest=manifest(NAMES[:5]), records=tuple(record(n) for n in NAMES[:5]), name="part")
    comparison = compare([full, part])
    assert comparison.common == tuple(NAMES[:5])
    assert "the runs cover different theorems (full: 10, part: 5; 5 finished by every run)" in comparison.warnings[0]
    text = render_report([full, part], tmp_path, common=True, diff=True)
    assert "Rates are over the 5 theorems every run finished (--common)" in text
    assert "| full | best-first | k=8 | max_expansions=50 | auto | 0 | 1 | 5 | 3/5 (60.0%)" in text
    assert "- proved by full, not by part (0): -" in text and "- proved by part, not by full (2): t1, t3" in text


def test_a_theorem_whose_statement_differs_between_runs_is_left_out_of_the_common_set():
    a = Run(manifest=manifest(NAMES[:3]), records=tuple(record(n) for n in NAMES[:3]), name="a")
    changed = manifest(NAMES[:3])
    changed["theorems"]["t1"] = "other"
    b = Run(manifest=changed, records=tuple(record(n) for n in NAMES[:3]), name="b")
    comparison = compare([a, b])
    assert comparison.common == ("t0", "t2") and "1 theorem(s) have different statements" in comparison.warnings[0]


def test_every_rate_has_a_wilson_interval_and_pass_at_k_a_bootstrap_one():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert bootstrap_interval([1.0] * 20) == (1.0, 1.0) and bootstrap_interval([]) == (0.0, 1.0)
    low, high = bootstrap_interval([0.0, 1.0] * 50)
    assert 0.38 < low < 0.5 < high < 0.62


def test_the_table_names_policy_parameters_budget_model_and_temperature():
    run = Run(manifest=manifest(NAMES[:2], temperature=0.7, proposer="model"), records=(record("t0"), record("t1")),
              name="m")
    run.manifest["config"]["model"]["path"] = "runs/models/small"
    text = render_markdown([summarize(run)])
    assert "| m | best-first | k=8 | max_expansions=50 | runs/models/small | 0.7 | 1 | 2 | 2/2 (100.0%)" in text


@pytest.mark.parametrize("temperature, proposer, policy, varied, flagged", [
    (0.0, "model", "best-first", True, True),       # temperature 0: deterministic by construction
    (None, "auto", "best-first", True, True),        # the baseline's tactic proposer is top-k
    (None, "auto", "pass-n", True, False),           # the whole-proof baseline samples at 1.0
    (1.0, "model", "best-first", True, False),
    (1.0, "model", "best-first", False, True),       # identical attempts, whatever the setting says
])
def test_a_flat_pass_at_k_from_a_deterministic_setting_is_flagged(temperature, proposer, policy, varied, flagged):
    records = tuple(record(n, a, proved=(a == 1) if varied else True, proof=None)
                    for n in NAMES[:3] for a in range(4))
    run = Run(manifest=manifest(NAMES[:3], attempts=4, temperature=temperature, proposer=proposer, policy=policy),
              records=records, name="r")
    text = render_markdown([summarize(run)])
    assert ("pass@k is flat by construction" in text) == flagged


def test_the_default_compute_axis_is_generated_tokens():
    assert BUDGET_AXES[0] == "tokens"
    whole = Run(manifest=manifest(["a"], policy="pass-n"), records=(record("a", tokens=60),), name="pass-n")
    tactic = Run(manifest=manifest(["a"]), records=(record("a", tokens=6),), name="best-first")
    assert budget_curve(whole, "tokens") == [(60, 1.0)] and budget_curve(tactic, "tokens") == [(6, 1.0)]
    assert budget_curve(whole, "samples") == budget_curve(tactic, "samples")  # what the old default showed


def test_errors_are_in_the_report_and_the_bench_summary_line(tmp_path):
    run = Run(manifest=manifest(NAMES[:2]), records=(record("t0", status="error", proved=False, error="Boom: bad"),
                                                     record("t1")), name="e")
    text = render_markdown([summarize(run)])
    assert "| 1/2 (50.0%) [9.5–90.5%] | 1/2 (50.0%) | 1 | 10.0 | 2.0 |" in text
    assert "- e: 1 attempt(s) ended in an error (Boom x1)" in text
    data = tmp_path / "lean.jsonl"
    data.write_text("".join(json.dumps({"name": f"n{i}", "formal_statement": f"theorem n{i} (x : Nat) : x = x := by"})
                            + "\n" for i in range(3)))
    result = CliRunner().invoke(cli, ["bench", "--dataset", str(data), "--env", "sandbox", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "0/3 theorems proved (3 attempts recorded, 3 errors; first: n0: StatementError:" in result.output


def test_the_report_cli_compares_with_common_and_diff(tmp_path):
    for name, count, limit in (("a", 6, "6"), ("b", 4, "4")):
        result = CliRunner().invoke(cli, ["bench", "--dataset", "sandbox:valid", "--limit", limit,
                                          "--max-expansions", "20", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    report = CliRunner().invoke(cli, ["report", str(tmp_path / "a"), str(tmp_path / "b"), "--common", "--diff",
                                      "--out", str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    assert "the runs cover different theorems (a: 6, b: 4; 4 finished by every run)" in report.output
    assert "## Differences (over the 4 theorems both runs finished)" in report.output
    lonely = CliRunner().invoke(cli, ["report", str(tmp_path / "a"), "--diff"])
    assert lonely.exit_code == 2 and "--diff needs at least two runs" in lonely.output
