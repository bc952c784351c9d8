"""The wire protocol against every recorded upstream REPL transcript pair."""

from __future__ import annotations

import json

import pytest

from lean_env.errors import StatementError
from lean_env.repl.protocol import (
    CommandRequest,
    CommandResponse,
    ErrorResponse,
    ProtocolError,
    TacticRequest,
    TacticResponse,
    decode_response,
    encode_request,
    single_tactic,
    statement_error,
    to_step_result,
)
from lean_env.types import EnvCrash, NewState, ProofComplete, TacticError

from .conftest import load_pairs

PAIRS = load_pairs()
TACTIC_KINDS = ("tactic", "unpickleProofStateFrom")


def _expected_type(pair):
    """Response type implied by the request kind (independent of the decoder)."""
    request, response = pair["request"], pair["response"]
    if set(response) == {"message"}:
        return ErrorResponse
    if any(k in request for k in TACTIC_KINDS) or ("pickleTo" in request and "proofState" in request):
        return TacticResponse
    return CommandResponse


def _find(version, test, step):
    return next(p for p in PAIRS if (p["repl_version"], p["test"], p["step"]) == (version, test, step))


def _step(pair):
    return to_step_result(decode_response(pair["response"]), handle_for=lambda ps: ("h", ps))


def test_all_577_pairs_decode_to_the_right_type_with_every_field():
    assert len(PAIRS) == 577
    for pair in PAIRS:
        raw = pair["response"]
        decoded = decode_response(raw)
        assert type(decoded) is _expected_type(pair), pair["test"]
        if isinstance(decoded, ErrorResponse):
            assert decoded.message == raw["message"]
            continue
        assert len(decoded.messages) == len(raw.get("messages", []))
        assert [m.data for m in decoded.messages] == [m["data"] for m in raw.get("messages", [])]
        assert len(decoded.sorries) == len(raw.get("sorries", []))
        if isinstance(decoded, TacticResponse):
            assert decoded.proof_state == raw["proofState"]
            assert list(decoded.goals) == raw["goals"]
            assert decoded.proof_status == raw.get("proofStatus")
            assert list(decoded.traces) == raw.get("traces", [])
        else:
            assert decoded.env == raw["env"]
            assert len(decoded.tactics) == len(raw.get("tactics", []))
            assert (decoded.infotree is None) == ("infotree" not in raw)


def test_every_tactic_pair_maps_to_a_step_result_consistent_with_its_shape():
    tactic_pairs = [p for p in PAIRS if "tactic" in p["request"]]
    assert len(tactic_pairs) == 180
    for pair in tactic_pairs:
        raw, result = pair["response"], _step(pair)
        errors = [m for m in raw.get("messages", []) if m["severity"] == "error"]
        if "message" in raw or errors:
            assert isinstance(result, (TacticError, EnvCrash)), pair
        if isinstance(result, ProofComplete):
            assert raw["goals"] == [] and not errors and not raw.get("sorries")
            assert raw.get("proofStatus", "Completed") == "Completed"
        if isinstance(result, NewState):
            assert list(result.state.goals) == raw["goals"] and result.state.handle == ("h", raw["proofState"])


@pytest.mark.parametrize("version", ["v4.9.0", "v4.24.0", "v4.33.0-rc2"])
def test_error_message_with_a_new_proof_state_is_a_tactic_error(version):
    result = _step(_find(version, "test/invalid_tactic", 1))
    assert isinstance(result, TacticError)
    assert "my_fake_premise" in result.message


@pytest.mark.parametrize("version", ["v4.24.0", "v4.33.0-rc2"])
def test_completed_is_proof_complete(version):
    assert isinstance(_step(_find(version, "test/proof_step", 3)), ProofComplete)
    exact = _step(_find(version, "test/Mathlib/test/exact", 2))  # exact? says "Try this" and completes
    assert isinstance(exact, ProofComplete) and "Try this" in exact.messages[0]


def test_v4_9_shapes_without_proof_status():
    assert isinstance(_step(_find("v4.9.0", "test/proof_step", 3)), ProofComplete)
    opened = _step(_find("v4.9.0", "test/by_cases", 1))
    assert isinstance(opened, NewState) and opened.state.goals[0].startswith("case pos")
    # `all_goals sorry` leaves no goals, but only by sorry: not a proof
    assert isinstance(_step(_find("v4.9.0", "test/by_cases", 3)), TacticError)
    assert isinstance(_step(_find("v4.9.0", "test/Mathlib/test/20240209", 1)), TacticError)


def test_incomplete_statuses_with_no_goals_are_failures():
    for test, step in [("test/tactic_mode_sorry", 1), ("test/app_type_mismatch", 4), ("test/self_proof_exact_check", 2)]:
        assert isinstance(_step(_find("v4.24.0", test, step)), TacticError), test


def test_new_sorry_with_open_goals_is_a_failure_and_traces_are_kept():
    assert isinstance(_step(_find("v4.24.0", "test/have_by_sorry", 2)), TacticError)
    traced = _step(_find("v4.24.0", "test/trace_simp", 5))
    assert isinstance(traced, NewState) and traced.messages == ("37",)


def test_error_responses():
    assert _step(_find("v4.24.0", "test/unknown_tactic", 1)) == TacticError("Lean error:\n<input>:1:1: unknown tactic")
    lost = _step(_find("v4.24.0", "test/unknown_proof_state", 1))
    assert isinstance(lost, EnvCrash) and lost.state_lost


def test_multiline_tactic_is_one_json_line_and_round_trips():
    tactic = 'induction x with\n| zero => simp\n| succ x ih =>\n  rw ["a\\b"]\n  omega'
    wire = encode_request(TacticRequest(tactic, 7))
    text = wire.decode("utf-8")
    assert text.endswith("\n\n") and text.count("\n") == 2
    # what the REPL does: strip each line's trailing whitespace and join with no separator
    joined = "".join(line.rstrip() for line in text.split("\n"))
    assert json.loads(joined) == {"tactic": tactic, "proofState": 7}
    command = CommandRequest("theorem t : 1 = 1 := by\n  rfl", env=3, all_tactics=True)
    assert json.loads(encode_request(command)) == {"cmd": "theorem t : 1 = 1 := by\n  rfl", "env": 3, "allTactics": True}
    assert "⊢" in encode_request(CommandRequest("-- ⊢ 𝓝")).decode("utf-8")  # UTF-8, no surrogate escapes


def test_sequences_become_one_parenthesised_tactic():
    assert single_tactic("norm_num [h]") == "norm_num [h]"
    assert single_tactic("ext1 x; ext1 n") == "(ext1 x; ext1 n\n)"
    # relative indentation is kept, and a trailing comment cannot swallow the parenthesis
    assert single_tactic("induction n with\n| zero => simp\n| succ n ih => omega -- done") == (
        "(induction n with\n | zero => simp\n | succ n ih => omega -- done\n)"
    )


def test_recorded_requests_round_trip_through_the_encoder():
    for pair in PAIRS:
        request = pair["request"]
        if set(request) == {"tactic", "proofState"}:
            typed = TacticRequest(request["tactic"], request["proofState"])
        elif "cmd" in request and set(request) <= {"cmd", "env", "allTactics", "rootGoals"}:
            typed = CommandRequest(request["cmd"], request.get("env"), request.get("allTactics", False), request.get("rootGoals", False))
        else:
            continue
        assert json.loads(encode_request(typed)) == request


def test_tactics_field_parsed():
    pair = _find("v4.24.0", "test/all_tactics", 0)
    response = decode_response(pair["response"])
    assert [(t.tactic, t.goals, t.proof_state) for t in response.tactics] == [
        ("have t := 37", "⊢ Nat", 0),
        ("exact t", "t : Nat\n⊢ Nat", 1),
    ]
    assert response.tactics[0].used_constants == ("instOfNatNat", "Nat", "OfNat.ofNat")
    assert response.tactics[1].pos.line == 1 and response.tactics[1].end_pos.column == 39
    old = decode_response(_find("v4.9.0", "test/all_tactics", 0)["response"])
    assert old.tactics[0].used_constants is None


def test_statement_error_positions_are_one_based():
    pair = _find("v4.24.0", "test/unfinished_tactic_block", 0)
    error = statement_error(decode_response(pair["response"]))
    assert isinstance(error, StatementError) and error.line == 1 and error.column >= 1
    assert statement_error(decode_response({"env": 0})) is None


def test_unknown_shapes_are_protocol_errors():
    for raw in ([], {"foo": 1}, {"env": "x"}, {"proofState": 1, "goals": [], "messages": [{"data": "no severity"}]}):
        with pytest.raises(ProtocolError):
            decode_response(raw)
