"""How ``prover prove`` reads statements: text with ``:= by sorry``, and theorems of a
``.lean`` file behind attributes, modifiers and term-mode neighbours (on the sandbox)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from prover.cli.main import cli

DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.parametrize("statement", [DEMO + " sorry", DEMO + "\n  sorry", DEMO + "\n  sorry\n"])
def test_a_statement_ending_in_sorry_is_proved_without_it(statement):
    result = invoke("prove", statement)
    assert result.exit_code == 0, result.output
    assert "proved t" in result.output and "sorry" not in result.output


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ("theorem t (p : Prop) : p → p", "must end with ':= by'"),
        ("theorem t (p : Prop) : p → p := fun h => h", "must end with ':= by'"),
        ("theorem t (p : Prop) : p → p := by intro h; exact h", "a proof after ':= by'"),
    ],
)
def test_a_statement_without_by_is_one_line_and_exit_2(statement, needle):
    result = invoke("prove", statement)
    assert result.exit_code == 2 and needle in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("prefix", ["@[simp] ", "private ", "protected ", "nonrec ", "/-- doc -/\n", "@[simp]\nprivate "])
def test_file_theorems_behind_attributes_and_modifiers_are_found(tmp_path, prefix):
    lean = tmp_path / "demo.lean"
    lean.write_text(f"theorem other (p : Prop) : p → p := fun h => h\n\n{prefix}{DEMO}\n  sorry\n")
    result = invoke("prove", "--file", str(lean), "--theorem", "t")
    assert result.exit_code == 0, result.output
    assert "proved t" in result.output


def test_a_term_mode_theorem_is_skipped_and_asking_for_it_is_one_line(tmp_path):
    lean = tmp_path / "demo.lean"
    lean.write_text("theorem first (p : Prop) : p → p := fun h => h\n\ntheorem second (p : Prop) : p → p := by\n  intro h\n  exact h\n")
    second = invoke("prove", "--file", str(lean), "--theorem", "second")
    assert second.exit_code == 0 and "proved second" in second.output, second.output
    first = invoke("prove", "--file", str(lean), "--theorem", "first")
    assert first.exit_code == 2 and "demo.lean:1: theorem 'first' has no ':= by'" in first.output
    assert len(first.output.strip().splitlines()) == 1
    missing = invoke("prove", "--file", str(lean), "--theorem", "third")
    assert missing.exit_code == 2 and "no theorem named 'third'" in missing.output
