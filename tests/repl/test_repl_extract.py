"""Proof-step extraction: the `tactics` field of real responses, and the pipeline from
tactic_data JSONL records to (state, tactic, state) records through the stand-in REPL."""

from __future__ import annotations

import asyncio
import json

import pytest

from lean_env.repl import ReplEnvironment
from lean_env.repl.extract import ExtractionError, StepRecord, extract_jsonl, extract_steps, replayable
from lean_env.repl.protocol import CommandRequest, decode_response
from lean_env.types import Theorem, canonical_goals

from .conftest import TACTIC_DATA, fake_config, load_pairs

MINIF2F_HEADER = "import Mathlib\nset_option maxHeartbeats 400000\nopen BigOperators Real Nat Topology Rat\n"


def test_replayable_entries_of_every_recorded_tactics_field():
    responses = [decode_response(p["response"]) for p in load_pairs() if "tactics" in p["response"]]
    assert len(responses) == 15
    calc = next(r for r in responses if any(t.tactic.startswith("calc") for t in r.tactics))
    assert [t.tactic.split("\n")[0] for t in replayable(calc)] == ["calc"]  # "no goals" and sorry entries dropped
    for response in responses:
        for entry in replayable(response):
            assert entry.goals != "no goals" and entry.tactic != "sorry" and entry.proof_state >= 0


def test_recorded_lean_answers_give_a_step_record():
    """The stand-in replays Lean's recorded answers for this exact proof (all_tactics-20250622)."""
    theorem = Theorem("anon", "example (P : Prop) (hp : P) : P := by")

    async def main():
        async with ReplEnvironment(fake_config()) as env:
            return await extract_steps(env, theorem, "exact hp")

    assert asyncio.run(main()) == [StepRecord("P : Prop\nhp : P\n⊢ P", "exact hp", "no goals")]


def test_multi_step_proof_and_failures():
    theorem = Theorem("t", "theorem t (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by", header=MINIF2F_HEADER)

    async def main():
        async with ReplEnvironment(fake_config()) as env:
            steps = await extract_steps(env, theorem, "\n  constructor\n  exact h\n  norm_num\n")
            with pytest.raises(ExtractionError, match="unsolved goals"):
                await extract_steps(env, theorem, "constructor")
            with pytest.raises(ExtractionError, match="rejected"):
                await extract_steps(env, theorem, "sorry")
            return steps

    steps = asyncio.run(main())
    assert [s.tactic for s in steps] == ["constructor", "exact h", "norm_num"]
    assert steps[0].state_before == "x : Nat\nh : x = 1\n⊢ x = 1 ∧ x > 0"
    assert steps[0].state_after == steps[1].state_before  # both goals, blank-line separated
    assert steps[1].state_after == "case right\nx : Nat\nh : x = 1\n⊢ x > 0" == steps[2].state_before
    assert steps[2].state_after == "no goals"


def test_tactic_data_jsonl_to_step_records():
    path = TACTIC_DATA / "yangky11_minif2f_valid_proofs.jsonl"
    expected = len(path.read_text(encoding="utf-8").splitlines())

    async def main():
        async with ReplEnvironment(fake_config(workers=2)) as env:
            return await extract_jsonl(env, path, header=MINIF2F_HEADER)

    extracted = asyncio.run(main())
    assert len(extracted) == expected == 75
    by_name = {e.name: e for e in extracted}
    ring = by_name["algebra_2rootsintpoly_am10tap11eqasqpam110"]
    assert ring.error == ""
    assert ring.steps == (StepRecord("a : ℂ\n⊢ (a - 10) * (a + 11) = a ^ 2 + a - 110", "ring", "no goals"),)
    # the stand-in knows only a few tactics: the rest fail with the error Lean would give, recorded per proof
    assert all(e.error or e.steps for e in extracted)
    assert any("unknown tactic" in e.error for e in extracted)


def test_records_without_a_proof_are_reported(tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text(json.dumps({"name": "x", "formal_statement": "theorem x : True := by"}) + "\n")

    async def main():
        async with ReplEnvironment(fake_config()) as env:
            return await extract_jsonl(env, path, header=MINIF2F_HEADER)

    (only,) = asyncio.run(main())
    assert only.name == "x" and not only.steps and "proof" in only.error


def test_multi_goal_state_before_is_printed_as_tactic_mode_prints_it():
    """Recorded Lean answers (v4.24.0 ``complex_and``): ``apply And.intro`` leaves two goals.
    The ``allTactics`` string joins them with one newline (Lean's ``ppGoals``); the record
    must hold them as tactic mode and LeanDojo do, separated by a blank line."""
    recorded = next(p for p in load_pairs() if p["repl_version"] == "v4.24.0" and p["request"].get("tactic") == "apply And.intro")
    two_goals = recorded["response"]["goals"]
    assert len(two_goals) == 2
    theorem = Theorem("complex_and", "theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by")
    proof = "apply And.intro\nexact h1.left\napply h2\nexact h1.right"

    async def main():
        async with ReplEnvironment(fake_config()) as env:
            async with env.session(theorem) as worker:
                text = theorem.with_proof(proof)
                raw = await worker.request(CommandRequest(text, env=worker.header_env, all_tactics=True), 5)
            return raw, await extract_steps(env, theorem, proof)

    raw, steps = asyncio.run(main())
    assert raw.tactics[1].goals == "\n".join(two_goals)  # what the REPL hands out
    assert [s.tactic for s in steps] == proof.split("\n")
    assert steps[1].state_before == canonical_goals(tuple(two_goals)) == "\n\n".join(two_goals)
    assert steps[0].state_after == steps[1].state_before
    assert steps[-1].state_after == "no goals"
