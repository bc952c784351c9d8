"""The one parser of Lean's pretty-printed goals: lenient for proposers, strict for the sandbox."""

from __future__ import annotations

import pytest

from lean_env import Hypothesis, ParsedGoal, StatementError, fresh_name, parse_goal, split_top


def test_case_tag_shared_names_continuations_and_let_values():
    goal = parse_goal("case succ\nn k : ℕ\nm : ℕ := n +\n  1\nh : 0 <\n    m\n⊢ 0 <\n  m + 1\n")
    assert goal == ParsedGoal(
        "succ",
        (Hypothesis(("n", "k"), "ℕ"), Hypothesis(("m",), "ℕ", "n + 1"), Hypothesis(("h",), "0 < m")),
        "0 < m + 1",
    )
    assert goal.names == {"n", "k", "m", "h"} and dict(goal.facts()) == {"h": "0 < m"}


def test_let_value_is_split_only_at_the_top_level():
    [hyp] = parse_goal("f : ℕ → ℕ := fun x => (x := 1)\n⊢ True").hypotheses
    assert (hyp.type, hyp.value) == ("ℕ → ℕ", "fun x => (x := 1)")
    assert split_top("a ∧ (b ∧ c) ∧ d", " ∧ ") == ["a", "(b ∧ c)", "d"]
    assert split_top("∀ x, a ∧ b", " ∧ ") == ["∀ x, a ∧ b"]


def test_lenient_parse_never_raises():
    assert parse_goal("") == ParsedGoal(None, (), "")
    assert parse_goal("garbage\nx : ℕ") == ParsedGoal(None, (Hypothesis(("x",), "ℕ"),), "")
    assert parse_goal("p : Prop\r\n\r\n⊢ p").target == "p"


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("p : Prop", "goal text has no '⊢' line", 1),
        ("", "goal text has no '⊢' line", 1),
        ("⊢ p\np : Prop", "goal text has no '⊢' line", 1),
        ("case h\np : Prop\nhp p\n⊢ p", "hypothesis line without ' : '", 2),  # lines count after the case tag
        ("p : Prop\n⊢ q\n⊢ p", "hypothesis line without ' : '", 2),
    ],
)
def test_strict_parse_refuses_text_that_is_not_one_goal(text, message, line):
    with pytest.raises(StatementError) as caught:
        parse_goal(text, strict=True)
    assert (caught.value.message, caught.value.line, caught.value.column) == (message, line, 1)
    parse_goal(text)  # the lenient parse takes what it can


def test_strict_parse_accepts_what_lean_prints():
    text = "case left\np q : Prop\nh : p ∧\n  q\n⊢ q"
    assert parse_goal(text, strict=True) == parse_goal(text)


def test_fresh_name_uses_subscripts_and_claims_the_name():
    taken = {"h", "h₁", "h₃", "x"}
    assert [fresh_name("h", taken) for _ in range(3)] == ["h₂", "h₄", "h₅"]
    assert fresh_name("y", taken) == "y" and {"h₂", "h₄", "h₅", "y"} <= taken
    many = {"h"}
    for _ in range(120):
        fresh_name("h", many)
    assert fresh_name("h", many) == "h₁₂₁"
