"""``prover calibrate`` then ``prover bench --policy compute-optimal --strategy TABLE`` on the sandbox."""

from __future__ import annotations

import json

from click.testing import CliRunner

from prover.cli.main import cli
from prover.runs import RESULTS_FILE
from search.strategy import read_strategy_table


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_calibrate_writes_a_table_that_bench_runs_compute_optimal_with(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('[[strategy]]\npolicy = "rollouts"\nparams = { n = 1, max_depth = 2 }\n\n'
                    '[[strategy]]\npolicy = "best-first"\nparams = { k = 4 }\n')
    out = tmp_path / "cal"
    result = invoke("calibrate", "--dataset", "sandbox:valid", "--limit", "6", "--out", str(out), "--grid", str(grid),
                    "--budgets", "8,40", "--bins", "2", "--pilot", "1")
    assert result.exit_code == 0, result.output
    table = read_strategy_table(out / "strategy.toml")
    assert table.kind == "tactic" and table.budgets == (8, 40) and table.signal == "pilot"
    assert {c.strategy.policy for c in table.choices} <= {"rollouts", "best-first"}
    assert sum(c.theorems for c in table.choices if c.budget == 8) == 6
    report = (out / "calibration.md").read_text()
    assert "| pilot |" in report and "| root-value |" in report and "## Budget 40 tokens" in report
    assert len(list((out / "runs").iterdir())) == 4
    again = invoke("calibrate", "--dataset", "sandbox:valid", "--limit", "6", "--out", str(out), "--grid", str(grid),
                   "--budgets", "8,40", "--bins", "2", "--pilot", "1")
    assert again.exit_code == 0 and again.output.splitlines()[:4] == result.output.splitlines()[:4]  # resumed runs

    bench = invoke("bench", "--dataset", "sandbox:test", "--limit", "4", "--out", str(tmp_path / "test"),
                   "--policy", "compute-optimal", "--strategy", str(out / "strategy.toml"), "--max-tokens", "40")
    assert bench.exit_code == 0, bench.output
    records = [json.loads(line) for line in (tmp_path / "test" / RESULTS_FILE).read_text().splitlines()]
    assert len(records) == 4 and all(r["spent"]["tokens"] <= 40 for r in records)


def test_calibrate_on_whole_proofs_with_the_default_grid(tmp_path):
    result = invoke("calibrate", "--dataset", "sandbox:valid", "--limit", "3", "--out", str(tmp_path / "cal"),
                    "--kind", "proof", "--budgets", "30", "--bins", "1", "--pilot", "2", "--signal", "root-value")
    assert result.exit_code == 0, result.output
    table = read_strategy_table(tmp_path / "cal" / "strategy.toml")
    assert table.kind == "proof" and table.edges == () and len(table.choices) == 1


def test_calibrate_refuses_the_test_split_and_bad_input(tmp_path):
    for args, needle in [
        (("--dataset", "sandbox:test"), "validation split"),
        (("--dataset", "sandbox:valid", "--budgets", "ten"), "--budgets"),
        (("--dataset", "sandbox:valid", "--grid", str(tmp_path / "none.toml")), "--grid"),
    ]:
        result = invoke("calibrate", *args, "--out", str(tmp_path / "x"))
        assert result.exit_code == 2 and needle in result.output, result.output
    missing = invoke("bench", "--dataset", "sandbox:test", "--limit", "1", "--out", str(tmp_path / "b"),
                     "--policy", "compute-optimal", "--strategy", str(tmp_path / "none.toml"))
    assert missing.exit_code == 2 and "cannot read strategy table" in missing.output
