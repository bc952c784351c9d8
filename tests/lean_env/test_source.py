"""Reading Lean source on tokens: statements, declarations of a file, imports."""

from __future__ import annotations

import pytest

from lean_env.errors import StatementError
from lean_env.source import SourceFile, declared_name, split_imports, tactic_statement

FILE = """import Mathlib
import Aesop
set_option maxHeartbeats 400000
open BigOperators Real

/-- a helper; its doc says theorem fake : False := by sorry -/
@[simp] lemma helper (x : ℕ) : x + 0 = x := by
  simp

theorem term_mode : True := trivial

private theorem uses (x : ℕ) : x + 0 = x := by
  exact helper x

protected lemma Foo.prot : 1 = 1 := by rfl

nonrec theorem unused (s : String := ":= by") : 1 = 1 := by
  -- a comment in column 2
  rfl
-- a trailing comment
open Real in
theorem main (y : ℕ)
    (h : y = 1 := by rfl) : y = y := by
  rfl

theorem eqns : ℕ → ℕ
  | 0 => 0
  | n + 1 => n

#print axioms main
"""


def test_statements_drop_a_trailing_sorry_and_need_by():
    assert tactic_statement("theorem t : 1 = 1 := by sorry") == "theorem t : 1 = 1 := by"
    assert tactic_statement("  theorem t : 1 = 1 := by\n  sorry\n") == "theorem t : 1 = 1 := by"
    assert tactic_statement("theorem t (h : 1 = 1 := by rfl) : 1 = 1 := by") == "theorem t (h : 1 = 1 := by rfl) : 1 = 1 := by"
    assert tactic_statement("theorem t : 1 = 1 := by -- proof below\n") == "theorem t : 1 = 1 := by"
    for bad, needle in [
        ("theorem t : 1 = 1", "must end with ':= by'"),
        ("theorem t : 1 = 1 := rfl", "must end with ':= by'"),
        ("theorem t : 1 = 1 := by rfl", "a proof after ':= by'"),
        ("theorem t : 1 = 1 := by sorry\n  simp", "a proof after ':= by'"),
        ("theorem t : \"unterminated := by", "unterminated"),
    ]:
        with pytest.raises(StatementError, match=needle) as info:
            tactic_statement(bad)
        assert "\n" not in str(info.value)


def test_every_declaration_with_modifiers_and_term_mode_ones_skipped_correctly():
    source = SourceFile(FILE)
    found = {d.name: d for d in source.declarations}
    assert list(found) == ["helper", "term_mode", "uses", "Foo.prot", "unused", "main", "eqns"]
    assert [d.name for d in source.declarations if d.tactic] == ["helper", "uses", "Foo.prot", "unused", "main"]
    assert found["helper"].statement == "lemma helper (x : ℕ) : x + 0 = x := by" and found["helper"].attributed
    assert found["helper"].line == 6 and FILE[found["helper"].start :].startswith("/-- a helper")
    assert found["term_mode"].statement == "theorem term_mode : True :=" and found["term_mode"].proof is None
    assert found["uses"].statement.startswith("theorem uses") and found["uses"].proof.strip() == "exact helper x"
    assert found["Foo.prot"].proof.strip() == "rfl"
    assert found["unused"].statement.endswith('(s : String := ":= by") : 1 = 1 := by')
    assert found["unused"].proof.strip().endswith("rfl\n-- a trailing comment")
    assert found["main"].statement.startswith("open Real in\ntheorem main (y : ℕ)")
    assert (found["main"].line, found["main"].statement_line, found["helper"].statement_line) == (21, 21, 7)
    assert found["main"].statement.endswith(": y = y := by") and found["main"].proof.strip() == "rfl"  # stops at #print
    assert found["eqns"].proof is None
    assert source.find("fake") is None  # a theorem inside a doc comment is no theorem


def test_minimal_header_keeps_what_a_theorem_uses_and_anything_with_attributes():
    source = SourceFile(FILE)
    full = source.header(source.find("uses"))
    assert "theorem term_mode" in full
    minimal = source.header(source.find("uses"), minimal=True)
    assert "lemma helper" in minimal and "theorem term_mode" not in minimal
    assert minimal.startswith("import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000\nopen BigOperators Real\n")
    main = source.header(source.find("main"), minimal=True)
    assert "lemma helper" in main  # @[simp]: simp may use it without naming it
    assert "theorem uses" not in main and "nonrec theorem unused" not in main
    assert main.count("\n") == FILE[: source.find("main").start].count("\n")  # lines kept: positions stay the file's


def test_declared_name_and_imports():
    assert declared_name("@[simp] private theorem h₁ : True := by") == "h₁"
    assert split_imports("import Mathlib\nimport Aesop\n\nopen Real\n") == ("import Mathlib\nimport Aesop\n", "\nopen Real\n")
    assert split_imports("-- comment\nimport Mathlib\nopen Real") == ("-- comment\nimport Mathlib\n", "open Real")
    assert split_imports("open Real\n") == ("", "open Real\n")
    assert split_imports("") == ("", "")
    assert split_imports('import Mathlib\n"unterminated')[1] == ""  # stays whole: the REPL reports it


def test_untokenizable_source_is_a_statement_error():
    with pytest.raises(StatementError, match="line 2: unterminated comment"):
        SourceFile("theorem t : True := by\n  /- never closed\n")
