"""The crash-safe run store and the report: records, resume rules, pass@k, plots."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from prover.cli.main import cli
from prover.report import budget_curve, pass_at_k_curve, render_markdown, summarize, write_plots
from prover.runs import AttemptRecord, Run, RunError, RunStore, build_manifest, load_records, pass_at_k


def _record(theorem, attempt, proved, expansions=3, category="mathd_algebra"):
    return AttemptRecord(theorem=theorem, attempt=attempt, seed=attempt, status="proved" if proved else "budget",
                         proof="simp" if proved else None, verified=proved, spent={"expansions": expansions},
                         category=category)


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (5, 2), (8, 3), (10, 10), (6, 0)])
def test_pass_at_k_matches_brute_force(n, c):
    outcomes = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        expected = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
        assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_rejects_bad_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_store_appends_durably_and_resumes(tmp_path):
    manifest = build_manifest(config={"policy": {"name": "beam"}}, dataset={"name": "d"}, argv=["prover"])
    with RunStore(tmp_path / "run", resume=False) as store:
        store.open(manifest)
        store.append(_record("a", 0, True))
        # Durable before close: a reader sees the record already.
        assert [r.theorem for r in load_records(store.results_path)] == ["a"]
    with pytest.raises(RunError, match="--resume"):
        RunStore(tmp_path / "run", resume=False)
    resumed = RunStore(tmp_path / "run", resume=True)
    assert resumed.finished == {("a", 0)}
    other = build_manifest(config={"policy": {"name": "mcts"}}, dataset={"name": "d"}, argv=[])
    with pytest.raises(RunError, match="cannot change policy.name"):
        resumed.open(other)


def test_torn_last_line_is_dropped_and_overwritten(tmp_path):
    manifest = build_manifest(config={}, dataset={}, argv=[])
    store = RunStore(tmp_path, resume=False)
    store.open(manifest)
    store.append(_record("a", 0, True))
    store.close()
    with open(store.results_path, "a") as handle:
        handle.write('{"theorem": "b", "att')  # a writer killed mid-line
    resumed = RunStore(tmp_path, resume=True)
    assert [r.theorem for r in resumed.records] == ["a"]
    resumed.open(manifest)
    resumed.append(_record("b", 0, False))
    resumed.close()
    assert [r.theorem for r in load_records(store.results_path)] == ["a", "b"]


def test_results_from_another_schema_are_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"schema": 0, "theorem": "a"}) + "\n")
    with pytest.raises(RunError, match="schema"):
        load_records(path)


def test_summary_curves_and_markdown(tmp_path):
    records = [_record("a", 0, True, 2), _record("a", 1, False), _record("b", 0, False, category="imo"),
               _record("b", 1, True, 9, category="imo"), _record("c", 0, False), _record("c", 1, False)]
    run = Run(manifest={"config": {"policy": {"name": "beam"}}}, records=tuple(records), name="run1")
    summary = summarize(run, flagged=frozenset({"c"}))
    assert (summary.proved, summary.theorems, summary.attempts) == (2, 3, 2)
    assert (summary.proved_unflagged, summary.theorems_unflagged) == (2, 2)
    assert dict((c, (p, n)) for c, p, n in summary.by_category) == {"imo": (1, 1), "mathd_algebra": (1, 2)}
    curve = pass_at_k_curve(run)
    assert curve[0] == (1, pytest.approx((0.5 + 0.5 + 0.0) / 3)) and curve[1] == (2, pytest.approx(2 / 3))
    assert budget_curve(run) == [(2, pytest.approx(1 / 3))]
    plots = write_plots([run], tmp_path)
    assert {p.name for p in plots} == {"budget_curve.png", "pass_at_k.png"}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots)
    text = render_markdown([summary], [str(p) for p in plots])
    assert "| run1 | beam | ? | ? | ? | ? | 2 | 3 | 2/3 (66.7%) [20.8–93.9%] | 2/2 (100.0%) | 0 |" in text
    assert "pass@k" in text


def test_report_cli_on_missing_run_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no results.jsonl" in result.output and "Traceback" not in result.output


def test_a_run_saves_and_loads_as_the_same_records_and_reports_from_either(tmp_path):
    records = tuple(_record(t, a, (t, a) == ("a", 1)) for t in "ab" for a in range(2))
    run = Run(manifest=build_manifest(config={"policy": {"name": "beam"}}, dataset={"name": "d"}, argv=[]),
              records=records, name="r")
    loaded = Run.load(run.save(tmp_path / "r"))
    assert loaded.records == records and loaded.manifest == run.manifest and loaded.name == "r"
    assert loaded.pass_at_k(1) == run.pass_at_k(1) == pytest.approx(0.25) and loaded.solved == {"a"}
    with pytest.raises(RunError, match="already holds results"):
        run.save(tmp_path / "r")
