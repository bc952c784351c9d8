"""Tactic hygiene rules, one tricky case at a time, plus the real proofs in tactic_data."""

from __future__ import annotations

import json

import pytest

from lean_env.hygiene import REASONS, check_tactic, normalise

from .conftest import TACTIC_DATA


@pytest.mark.parametrize(
    "text",
    [
        "norm_num",
        "exact sorry_lemma h",  # identifier that merely starts with sorry
        "exact h_sorry",
        "exact foo.sorry",  # a constant in namespace foo, not the sorry term
        "exact «sorry»",
        "-- sorry is not allowed\nsimp",
        "/- nested /- sorry -/ still a comment -/ simp",
        'trace "sorry -- theorem"',
        "exact h'",
        "exact ('s' : Char)",
        "open Real in\nnorm_num [sqrt_eq_iff]",
        "open scoped BigOperators in simp",
        "set_option maxRecDepth 10000 in\n  decide",
        "classical\nexact endpoint_lemma",
        "have h : x = 1 := by\n  linarith\nexact h",
        "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]",
        "decide",
    ],
)
def test_accepted(text):
    result = check_tactic(text)
    assert result.ok, result
    assert result.reason == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t\n", "empty"),
        ("-- just a comment", "empty"),
        ("/- block -/", "empty"),
        ("simp\x00", "control-character"),
        ("sorry", "sorry"),
        ("exact (sorry)", "sorry"),
        ("  admit", "sorry"),
        ("exact sorryAx _ false", "sorry"),
        ('exact "--" ++ sorry', "sorry"),  # the string ends before the real sorry
        ("constructor <;> sorry", "sorry"),
        ("theorem cheat : False := by simp", "new-command"),
        ("simp\nlemma x : 1 = 1 := rfl", "new-command"),
        ("norm_num\n  axiom cheat : False", "new-command"),  # indentation does not hide it
        ("simp\nend", "new-command"),
        ("simp\n#exit", "new-command"),
        ("simp\n#print axioms foo", "new-command"),
        ("#eval 1", "new-command"),
        ("@[simp] theorem x : True := trivial", "new-command"),
        ("open Real", "new-command"),  # without `in` it ends the proof
        ("set_option maxHeartbeats 0", "new-command"),
        ("simp\nnamespace Foo", "new-command"),
        ("simp\nmacro \"x\" : tactic => `(tactic| sorry)", "new-command"),
        ("native_decide", "native-decide"),
        ("norm_num <;> native_decide", "native-decide"),
        ("decide +native", "native-decide"),
        ("decide (config := { native := true })", "native-decide"),
        ("exact Lean.ofReduceBool _ _ rfl", "native-decide"),
    ],
)
def test_rejected(text, reason):
    result = check_tactic(text)
    assert not result.ok
    assert result.reason == reason
    assert result.reason in REASONS
    assert result.detail


def test_native_decide_can_be_allowed():
    assert check_tactic("native_decide", allow_native_decide=True).ok
    assert not check_tactic("sorry", allow_native_decide=True).ok


def test_rule_names_the_line():
    result = check_tactic("norm_num\nsimp\ntheorem x : True := trivial")
    assert "line 3" in result.detail and "theorem" in result.detail


def test_normalisation_to_repl_encoding():
    assert normalise("  simp\r\n\tlinarith\r\n\n") == "simp\nlinarith"
    assert normalise("\n    have h : 1 = 1 := by\n      rfl\n    exact h\n") == "have h : 1 = 1 := by\n  rfl\nexact h"
    assert normalise("a  \rb") == "a\nb"
    assert check_tactic("\r\n  norm_num\r\n").text == "norm_num"


def test_every_recorded_proof_in_tactic_data_passes():
    """Real human and model proofs must not be rejected by mistake."""
    proofs = []
    for path in sorted(TACTIC_DATA.glob("*.jsonl")):
        proofs += [json.loads(line).get("proof") for line in path.read_text(encoding="utf-8").splitlines()]
    proofs = [p for p in proofs if p is not None]
    assert len(proofs) > 300
    rejected = [(p[:60], r) for p in proofs if not (r := check_tactic(p)).ok]
    assert rejected == []
