"""Whole-proof judging rules on real recorded responses and Lean's #print axioms text."""

from __future__ import annotations

from lean_env.axioms import DEFAULT_AXIOMS, NATIVE_AXIOMS, accepted_axioms, axiom_problem, read_axiom_report
from lean_env.repl.protocol import CommandResponse, ErrorResponse, Message, Pos, decode_response
from lean_env.repl.verify import compile_problem, read_audit
from lean_env.source import declared_name

from .conftest import load_pairs

ALLOWED = ("propext", "Classical.choice", "Quot.sound")


def _info(text: str, line: int = 5) -> Message:
    return Message("info", text, Pos(line, 0), Pos(line, 20))


def test_declared_names():
    assert declared_name("theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20) = 10 := by") == "mathd_algebra_10"
    assert declared_name("theorem imo_1959_p1 (n : ℕ) (h₀ : 0 < n) :\n    Nat.gcd (21 * n + 4) (14 * n + 3) = 1 := by") == "imo_1959_p1"
    assert declared_name("/-- doc -/\nlemma foo.bar' {x : ℕ} : x = x := by") == "foo.bar'"
    assert declared_name("@[simp] private theorem h₁ : True := by") == "h₁"
    assert declared_name("/-- a theorem about theorem names -/ theorem «odd name» : True := by") == "«odd name»"
    assert declared_name("example : True := by") is None
    assert declared_name("-- theorem fake : True\nexample : True := by") is None


def test_every_recorded_sorry_warning_is_caught_in_both_spellings():
    sorry_pairs = [p for p in load_pairs() if any("declaration uses" in m["data"] for m in p["response"].get("messages", []))]
    spellings = {m["data"] for p in sorry_pairs for m in p["response"]["messages"] if "declaration uses" in m["data"]}
    assert {"declaration uses 'sorry'", "declaration uses `sorry`"} <= spellings
    for pair in sorry_pairs:
        assert compile_problem(decode_response(pair["response"]))[0] in ("sorry", "error"), pair["test"]


def test_compile_problems():
    assert compile_problem(CommandResponse(env=3)) == ("", "")
    assert compile_problem(CommandResponse(env=3, messages=(Message("warning", "unused variable `h`"),))) == ("", "")
    assert compile_problem(CommandResponse(env=3, messages=(Message("error", "linarith failed"),))) == ("error", "error: linarith failed")
    assert compile_problem(CommandResponse(env=3, messages=(Message("warning", "declaration uses `sorry`"),)))[0] == "sorry"
    assert compile_problem(ErrorResponse("Unknown environment."))[1].endswith("Unknown environment.")


def test_print_axioms_output_is_parsed_at_the_audit_line_only():
    def audit(*messages: Message):
        return read_audit(CommandResponse(env=1, messages=messages), audit_line=5)

    assert audit(_info("'t' depends on axioms: [propext, Classical.choice, Quot.sound]")) == (ALLOWED, "")
    wrapped = audit(_info("'t' depends on axioms: [propext,\n Classical.choice,\n Quot.sound,\n Lean.ofReduceBool]"))
    assert wrapped[0][-1] == "Lean.ofReduceBool"
    assert audit(_info("'t' does not depend on any axioms")) == ((), "")
    assert audit(_info("unrelated"))[0] is None
    assert read_audit(ErrorResponse("Unknown environment."), audit_line=5)[0] is None
    # a look-alike logged by the proof (trace) at another line is never believed...
    assert audit(_info("'t' does not depend on any axioms", line=2))[0] is None
    # ...and its mere presence next to the real report refuses the proof
    axioms, problem = audit(_info("'t' does not depend on any axioms", line=2), _info("'t' depends on axioms: [sorryAx]"))
    assert axioms is None and "more than one" in problem


def test_axiom_allow_list_follows_the_native_option():
    assert axiom_problem(ALLOWED, ALLOWED) == ""
    assert axiom_problem((), ALLOWED) == ""
    assert "sorryAx" in axiom_problem(("propext", "sorryAx"), ALLOWED)
    assert "Lean.ofReduceBool" in axiom_problem(("Lean.ofReduceBool",), ALLOWED)
    assert axiom_problem(None, ALLOWED)
    assert accepted_axioms(DEFAULT_AXIOMS, allow_native_decide=False) == DEFAULT_AXIOMS
    native = accepted_axioms(DEFAULT_AXIOMS, allow_native_decide=True)
    assert native == DEFAULT_AXIOMS + NATIVE_AXIOMS == (*ALLOWED, "Lean.ofReduceBool", "Lean.trustCompiler")
    # native_decide and bv_decide (Lean 4.24) use both; both are allowed together or not at all
    assert axiom_problem(("propext", "Lean.ofReduceBool", "Lean.trustCompiler"), native) == ""
    assert "Lean.trustCompiler" in axiom_problem(("Lean.trustCompiler",), DEFAULT_AXIOMS)


def test_report_reading_is_strict():
    assert read_axiom_report([]) == (None, "could not read the axioms the proof depends on")
    assert read_axiom_report(["'t' does not depend on any axioms"], trusted=[False])[0] is None
