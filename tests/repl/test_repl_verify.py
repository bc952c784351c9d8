"""Whole-proof judging rules on real recorded responses and Lean's #print axioms text."""

from __future__ import annotations

from lean_env.repl.protocol import CommandResponse, ErrorResponse, Message, decode_response
from lean_env.repl.verify import axiom_problem, compile_problem, declared_name, parse_axioms

from .conftest import load_pairs

ALLOWED = ("propext", "Classical.choice", "Quot.sound")


def _info(text: str) -> CommandResponse:
    return CommandResponse(env=1, messages=(Message("info", text),))


def test_declared_names():
    assert declared_name("theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20) = 10 := by") == "mathd_algebra_10"
    assert declared_name("theorem imo_1959_p1 (n : ℕ) (h₀ : 0 < n) :\n    Nat.gcd (21 * n + 4) (14 * n + 3) = 1 := by") == "imo_1959_p1"
    assert declared_name("/-- doc -/\nlemma foo.bar' {x : ℕ} : x = x := by") == "foo.bar'"
    assert declared_name("@[simp] private theorem h₁ : True := by") == "h₁"
    assert declared_name("example : True := by") is None


def test_every_recorded_sorry_warning_is_caught_in_both_spellings():
    sorry_pairs = [p for p in load_pairs() if any("declaration uses" in m["data"] for m in p["response"].get("messages", []))]
    spellings = {m["data"] for p in sorry_pairs for m in p["response"]["messages"] if "declaration uses" in m["data"]}
    assert {"declaration uses 'sorry'", "declaration uses `sorry`"} <= spellings
    for pair in sorry_pairs:
        assert compile_problem(decode_response(pair["response"])), pair["test"]


def test_compile_problems():
    assert compile_problem(CommandResponse(env=3)) == ""
    assert compile_problem(CommandResponse(env=3, messages=(Message("warning", "unused variable `h`"),))) == ""
    assert compile_problem(CommandResponse(env=3, messages=(Message("error", "linarith failed"),))) == "error: linarith failed"
    assert "sorry" in compile_problem(CommandResponse(env=3, messages=(Message("warning", "declaration uses `sorry`"),)))
    assert compile_problem(ErrorResponse("Unknown environment.")).endswith("Unknown environment.")


def test_print_axioms_output_is_parsed():
    assert parse_axioms(_info("'t' depends on axioms: [propext, Classical.choice, Quot.sound]")) == ALLOWED
    assert parse_axioms(_info("'t' depends on axioms: [propext,\n Classical.choice,\n Quot.sound,\n Lean.ofReduceBool]"))[-1] == "Lean.ofReduceBool"
    assert parse_axioms(_info("'t' does not depend on any axioms")) == ()
    assert parse_axioms(_info("unrelated")) is None
    assert parse_axioms(ErrorResponse("Unknown environment.")) is None


def test_axiom_allow_list():
    assert axiom_problem(ALLOWED, ALLOWED) == ""
    assert axiom_problem((), ALLOWED) == ""
    assert "sorryAx" in axiom_problem(("propext", "sorryAx"), ALLOWED)
    assert "Lean.ofReduceBool" in axiom_problem(("Lean.ofReduceBool",), ALLOWED)
    assert axiom_problem(None, ALLOWED)
