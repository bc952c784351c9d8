"""``graphs.jsonl``: each finished search's proof graph beside its record (bench --save-graphs)."""

from __future__ import annotations

import pytest

from prover import Agent, Budget, load_dataset
from prover.baseline import BaselineProposer
from prover.runs import DAMAGED_FILE, GRAPHS_FILE, RunError, load_graphs
from propsandbox import SandboxEnvironment


def _run(out, *, limit, resume=False, save_graphs=True):
    agent = Agent(env=SandboxEnvironment(), proposer=BaselineProposer())
    return agent.run(load_dataset("sandbox:valid").limit(limit), budget=Budget(max_expansions=10), out=out,
                     resume=resume, save_graphs=save_graphs)


def test_graphs_stream_beside_records_round_trip_and_resume_adds_no_duplicates(tmp_path):
    out = tmp_path / "run"
    run = _run(out, limit=2)
    saved = {g.key: g for g in load_graphs(out)}
    assert set(saved) == {r.key for r in run.records}
    for result, record in zip(run.results, run.records):
        assert saved[record.key].graph.to_json() == result.graph.to_json()
        assert saved[record.key].theorem.statement.startswith("theorem")
    with open(out / GRAPHS_FILE, "ab") as handle:  # a writer killed mid-line
        handle.write(b'{"schema": 1, "theorem": "sb_va')
    warnings: list[str] = []
    assert len(load_graphs(out, warnings=warnings)) == 2 and "not graphs" in warnings[0]
    resumed = _run(out, limit=3, resume=True)
    assert len(resumed.records) == 3
    lines = (out / GRAPHS_FILE).read_text().splitlines()
    assert len(lines) == 3 and {g.key for g in load_graphs(out)} == {r.key for r in resumed.records}
    assert GRAPHS_FILE in (out / DAMAGED_FILE).read_text()


def test_each_kind_of_damaged_graph_line_is_skipped_and_named(tmp_path):
    out = tmp_path / "run"
    _run(out, limit=1)
    good = (out / GRAPHS_FILE).read_bytes()
    (out / GRAPHS_FILE).write_bytes(good + good + b'{"theorem": "t", "attempt": true, "graph": {}}\n' + b"\xff\xfe\n")
    warnings: list[str] = []
    assert len(load_graphs(out, warnings=warnings)) == 1
    assert "3 line(s)" in warnings[0]
    for problem in ("line 2: duplicate of line 1", "line 3: not a graph entry", "line 4: not UTF-8 text"):
        assert problem in warnings[0]


def test_a_run_without_save_graphs_writes_none(tmp_path):
    _run(tmp_path / "run", limit=1, save_graphs=False)
    assert not (tmp_path / "run" / GRAPHS_FILE).exists()


def test_resume_cannot_switch_graph_saving_so_a_run_has_a_graph_for_every_record(tmp_path):
    _run(tmp_path / "run", limit=1, save_graphs=False)
    with pytest.raises(RunError, match="run.save_graphs"):
        _run(tmp_path / "run", limit=2, resume=True, save_graphs=True)
