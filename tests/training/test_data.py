"""Training data loaders and the guard against training on test splits."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from lean_env.types import Theorem
from propsandbox import load_split
from prover.data.jsonl import DatasetError
from prover.training import (
    TestSplitRefused,
    UnitStream,
    load_leandojo,
    load_training_data,
    load_whole_proofs,
    sandbox_traces,
    trace_from_records,
)



def test_leandojo_layout(tmp_path, leandojo_records):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(leandojo_records), encoding="utf-8")
    (trace,) = load_leandojo(path)
    assert trace.name == "and_swap'"
    assert [s.target for s in trace.steps] == ["intro h", "exact ⟨h.2, h.1⟩"]
    assert trace.steps[1].query.state.pp == "p q : Prop\nh : p ∧ q\n⊢ q ∧ p"
    assert trace.steps[1].query.history == ("intro h",)
    assert load_training_data(str(path)) == (trace,)
    (tmp_path / "test.json").write_text(json.dumps(leandojo_records), encoding="utf-8")
    with pytest.raises(TestSplitRefused):
        load_leandojo(tmp_path / "test.json")


@dataclass(frozen=True)
class StepRecord:
    """Shaped like ``lean_env.repl.extract.StepRecord``."""

    state_before: str
    tactic: str
    state_after: str


def test_step_records_as_objects_or_dicts():
    theorem = Theorem(name="t", statement="theorem t : True := by")
    records = [StepRecord("⊢ True", "trivial", "no goals")]
    as_objects = trace_from_records(theorem, records)
    as_dicts = trace_from_records(theorem, [{"state_before": "⊢ True", "tactic": "trivial", "state_after": "no goals"}])
    assert as_objects == as_dicts and as_objects.steps[0].target == "trivial"
    with pytest.raises(DatasetError, match="state_before"):
        trace_from_records(theorem, [{"state_before": 3, "tactic": "x", "state_after": ""}])
    with pytest.raises(TestSplitRefused):
        trace_from_records(Theorem(name="t", statement="s", split="test"), records)


def test_whole_proofs_from_the_shared_valid_data(shared_datasets):
    minif2f = shared_datasets / "minif2f" / "minif2f_lean4.jsonl"
    traces = load_whole_proofs(shared_datasets / "tactic_data" / "yangky11_minif2f_valid_proofs.jsonl", minif2f_catalogue=minif2f)
    assert len(traces) == 75 and all(len(t.steps) == 1 and t.steps[0].target.strip() for t in traces)
    assert traces[0].steps[0].query.theorem.statement.endswith(":= by")


def test_minif2f_test_proofs_are_refused(shared_datasets, tmp_path):
    minif2f = shared_datasets / "minif2f" / "minif2f_lean4.jsonl"
    test_theorem = next(json.loads(l) for l in minif2f.read_text().splitlines() if '"split": "test"' in l)
    unlabelled = {"name": test_theorem["name"], "formal_statement": test_theorem["formal_statement"], "proof": "sorry"}
    path = tmp_path / "leak.jsonl"
    path.write_text(json.dumps(unlabelled) + "\n", encoding="utf-8")
    with pytest.raises(TestSplitRefused, match="MiniF2F test theorem"):
        load_whole_proofs(path, minif2f_catalogue=minif2f)
    path.write_text(json.dumps({**unlabelled, "name": "renamed", "split": "test"}) + "\n", encoding="utf-8")
    with pytest.raises(TestSplitRefused, match="test split"):
        load_training_data(str(path), minif2f_catalogue=minif2f)


def test_sandbox_traces_replay_the_reference_proofs():
    traces = sandbox_traces("valid")
    reference = load_split("valid")
    assert [t.name for t in traces] == [g.theorem.name for g in reference]
    for trace, generated in zip(traces, reference):
        assert tuple(s.target for s in trace.steps) == generated.proof
    first = traces[0].steps
    assert first[0].query.state.goals and first[-1].query.history == reference[0].proof[:-1]
    with pytest.raises(TestSplitRefused):
        sandbox_traces("test")
    with pytest.raises(DatasetError, match="unknown sandbox split"):
        load_training_data("sandbox:dev")


def test_stream_is_a_resumable_sequence_of_epochs():
    stream = UnitStream(5, seed=1)
    first = stream.take(7)
    assert sorted(first[:5]) == list(range(5)) and stream.epoch == 1
    saved = stream.state_dict()
    rest = stream.take(8)
    again = UnitStream(5, seed=1)
    again.load_state_dict(saved)
    assert again.take(8) == rest
    assert UnitStream(5, seed=2).take(5) != first[:5]
    with pytest.raises(ValueError, match="different dataset"):
        UnitStream(6, seed=1).load_state_dict(saved)
