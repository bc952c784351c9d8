"""Formula parsing with Lean 4 core's precedences, Lean's printing, statements and their errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from lean_env.errors import StatementError
from propsandbox import in_fragment
from propsandbox.syntax import (
    FALSE,
    TRUE,
    And,
    Atom,
    Binder,
    Iff,
    Imp,
    Not,
    Or,
    parse_formula,
    parse_statement,
    pp,
)
from tests.sandbox.strategies import formulas

p, q, r, s = Atom("p"), Atom("q"), Atom("r"), Atom("s")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("¬p ∧ q", And(Not(p), q)),  # ¬ binds tightest (its argument is parsed at 40)
        ("p ∧ q ∧ r", And(p, And(q, r))),  # infixr:35
        ("p ∨ q ∨ r", Or(p, Or(q, r))),  # infixr:30
        ("p → q → r", Imp(p, Imp(q, r))),  # right associative, 25
        ("p ∧ q ∨ r", Or(And(p, q), r)),
        ("p ∨ q ∧ r", Or(p, And(q, r))),
        ("p ∧ q → r", Imp(And(p, q), r)),
        ("p → q ∨ r", Imp(p, Or(q, r))),
        ("p → q ↔ r", Iff(Imp(p, q), r)),  # ↔ is infix:20, below →
        ("p ↔ q → r", Iff(p, Imp(q, r))),
        ("¬p → p ↔ False", Iff(Imp(Not(p), p), FALSE)),
        ("¬(p ∧ q)", Not(And(p, q))),
        ("¬¬p", Not(Not(p))),
        ("(p → q) → r", Imp(Imp(p, q), r)),
        ("True ∨ False", Or(TRUE, FALSE)),
        ("p /\\ q \\/ r -> s <-> p", Iff(Imp(Or(And(p, q), r), s), p)),
        ("Not p ∧ Not (q ∨ r)", And(Not(p), Not(Or(q, r)))),
    ],
)
def test_precedence_and_associativity_follow_lean_core(text, expected):
    assert parse_formula(text) == expected


def test_iff_is_not_associative():
    with pytest.raises(StatementError) as err:
        parse_formula("p ↔ q ↔ r")
    assert (err.value.line, err.value.column) == (1, 7)


@pytest.mark.parametrize(
    "formula, printed",
    [  # how Lean 4 prints these terms (minimal parentheses, no space after ¬)
        (Not(And(p, q)), "¬(p ∧ q)"),
        (Not(Not(p)), "¬¬p"),
        (And(And(p, q), r), "(p ∧ q) ∧ r"),
        (And(p, And(q, r)), "p ∧ q ∧ r"),
        (Imp(Imp(p, q), r), "(p → q) → r"),
        (Imp(p, Imp(q, r)), "p → q → r"),
        (Imp(And(p, q), And(q, p)), "p ∧ q → q ∧ p"),
        (And(Or(p, q), r), "(p ∨ q) ∧ r"),
        (Or(And(p, q), r), "p ∧ q ∨ r"),
        (Iff(Iff(p, q), r), "(p ↔ q) ↔ r"),
        (Iff(p, Iff(q, r)), "p ↔ (q ↔ r)"),
        (Imp(p, Iff(q, r)), "p → (q ↔ r)"),
        (Imp(Iff(p, q), r), "(p ↔ q) → r"),
        (Iff(p, Imp(q, r)), "p ↔ q → r"),
        (Not(Imp(p, FALSE)), "¬(p → False)"),
        (And(Not(p), TRUE), "¬p ∧ True"),
        (Or(Imp(p, q), Not(Or(q, r))), "(p → q) ∨ ¬(q ∨ r)"),
    ],
)
def test_printing_matches_lean(formula, printed):
    assert pp(formula) == printed
    assert parse_formula(printed) == formula


@settings(max_examples=300, deadline=None)
@given(formulas())
def test_print_parse_round_trip(f):
    printed = pp(f)
    assert parse_formula(printed) == f
    assert pp(parse_formula(printed)) == printed


def test_statement_binders_hypotheses_and_conclusion():
    st = parse_statement("theorem t1 (p q r : Prop) (h : p ∧ q) {s : Prop} (h₁ h₂ : s) : q ∧ p := by")
    assert (st.keyword, st.name) == ("theorem", "t1")
    assert st.binders == (Binder("p", None), Binder("q", None), Binder("r", None), Binder("h", And(p, q)),
                          Binder("s", None), Binder("h₁", s), Binder("h₂", s))
    assert st.conclusion == And(q, p)
    lemma = parse_statement("lemma foo.bar (p : Prop) : Not p -> p -> False")
    assert lemma.keyword == "lemma" and lemma.conclusion == Imp(Not(p), Imp(p, FALSE))
    commented = parse_statement("/-- doc -/ theorem t -- note\n  (p : Prop) :\n  p → p := by")
    assert commented.conclusion == Imp(p, p)


@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("", 1, 1, "empty statement"),
        ("   \n  ", 2, 3, "empty statement"),
        ("theorem t (p : Prop) : p ∧ ` := by", 1, 28, "unexpected token '`'"),
        ("theorem t (p : Prop : p := by", 1, 21, "expected ')'"),
        ("theorem t (p : Prop) : (p ∧ p := by", 1, 31, "expected ')'"),
        ("theorem t (p : Prop) : p ∧ p) := by", 1, 29, "unexpected token ')'"),
        ("theorem t (p : Prop) : q := by", 1, 24, "unknown identifier 'q'"),
        ("theorem t (p q : Prop)\n    (h : p ∧ r) : p := by", 2, 14, "unknown identifier 'r'"),
        ("theorem t (n : Nat) : True := by", 1, 16, "outside the sandbox's propositional fragment"),
        ("theorem t (n : ℕ) : True := by", 1, 16, "outside the sandbox's propositional fragment"),
        ("theorem t (α : Type) : True := by", 1, 16, "outside the sandbox's propositional fragment"),
        ("theorem t : ∀ p : Prop, p → p := by", 1, 13, "outside the sandbox's propositional fragment"),
        ("theorem t (p : Prop) : p = p := by", 1, 26, "outside the sandbox's propositional fragment"),
        ("theorem t (p : Prop) : p := by exact p", 1, 32, "expected ':= by'"),
        ("def t (p : Prop) : p := by", 1, 1, "expected 'theorem'"),
    ],
)
def test_malformed_statements_raise_with_position(text, line, column, fragment):
    with pytest.raises(StatementError) as err:
        parse_statement(text)
    assert (err.value.line, err.value.column) == (line, column)
    assert fragment in err.value.message
    assert not in_fragment(text)


def test_huge_input_is_refused_with_a_position():
    text = "theorem t (p : Prop) : " + "p ∧ " * 30_000 + "p := by"
    with pytest.raises(StatementError) as err:
        parse_statement(text)
    assert "longer than 100000" in err.value.message and err.value.line == 1


def test_in_fragment():
    assert in_fragment("theorem t (p q : Prop) : p ∧ q → q ∧ p := by")
    assert not in_fragment("theorem t (a b : ℕ) : a + b = b + a := by")


def test_deep_nesting_is_refused_not_crashed():
    deep = "theorem t (p : Prop) : " + "¬" * 5000 + "p := by"
    with pytest.raises(StatementError) as err:
        parse_statement(deep)
    assert (err.value.line, err.value.column) == (1, 24) and "outside the sandbox" in err.value.message
    assert parse_statement("theorem t (p : Prop) : " + "(" * 200 + "p" + ")" * 200 + " := by").conclusion == p
