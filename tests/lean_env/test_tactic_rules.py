"""The attack corpus for the tactic rules, and the Mathlib-style tactics that must pass.

Each attack is text a model (or a user's file) could send as a proof to cheat: smuggle
``sorry``, hide it from the rules inside what looks like a comment or a string, start a
new command, run code that could print forged replies, declare syntax, trust the
compiler, or switch the kernel off. ``docs/tactic-rules.md`` explains each rule. No Lean
runs here: the corpus pins down what the rules refuse, not what Lean would make of it.
"""

from __future__ import annotations

import pytest

from lean_env.hygiene import REASONS, check_context, check_tactic

ATTACKS: list[tuple[str, str, str]] = [
    # (category, text, reason)
    # --- sorry in every spelling
    ("sorry", "sorry", "sorry"),
    ("sorry", "  admit", "sorry"),
    ("sorry", "stop\nsimp", "sorry"),
    ("sorry", "constructor <;> sorry", "sorry"),
    ("sorry", "all_goals sorry", "sorry"),
    ("sorry", "exact (by sorry)", "sorry"),
    ("sorry", "nlinarith [sorry]", "sorry"),
    ("sorry", "exact sorryAx _ false", "sorry"),
    ("sorry", "exact «sorryAx» _ false", "sorry"),
    ("sorry", "exact _root_.sorryAx _ false", "sorry"),
    ("sorry", "exact _root_.«sorryAx» _ false", "sorry"),
    ("sorry", "exact @sorryAx _ false", "sorry"),
    ("sorry", "exact sorryAx.{0} _ false", "sorry"),
    ("sorry", "exact lcProof", "sorry"),
    ("sorry", "exact «lcProof»", "sorry"),
    ("sorry", "exact (Lean.Expr.const `sorryAx [])", "sorry"),
    # --- hiding code inside what a line-based or naive masker takes for literals/comments
    ("literal", 'exact r"x\\" ++ sorry ++ "y"', "sorry"),  # raw string: the backslash escapes nothing
    ("literal", 'exact r#"a"# ++ sorry', "sorry"),
    ("literal", 'exact r##"a"#"## ++ sorry', "sorry"),
    ("literal", 'exact "a\\\\" ++ sorry', "sorry"),  # the escaped backslash, then the real quote
    ("literal", "exact '\"' :: sorry", "sorry"),  # a char literal holding a quote
    ("literal", 'exact "--" ++ sorry', "sorry"),
    ("literal", "/- /- -/ -/ sorry", "sorry"),  # nested comments closed, then code
    ("literal", "exact λsorry", "sorry"),  # λ is no letter in Lean: not part of a name
    ("literal", "exact Πsorry", "sorry"),
    ("literal", 'exact s!"{sorry}"', "malformed"),  # interpolation is code
    ("literal", 'exact "{" ++ sorry ++ "}"', "malformed"),
    ("literal", "simp /- never closed", "malformed"),  # would swallow the appended audit
    ("literal", 'exact "never closed', "malformed"),
    ("literal", 'exact r#"never closed"', "malformed"),
    ("literal", "exact «never closed", "malformed"),
    ("literal", "exact 'ab' ", "malformed"),
    ("literal", "exact h <--\n sorry", "malformed"),  # `<-` may be one token: the comment is uncertain
    ("literal", "exact a \\/- b -/ sorry", "malformed"),
    # --- a new command, anywhere on a line
    ("command", "skip; axiom cheat : False", "new-command"),
    ("command", "theorem cheat : False := by simp", "new-command"),
    ("command", "simp\n  lemma x : 1 = 1 := rfl", "new-command"),
    ("command", "norm_num\n  axiom cheat : False", "new-command"),
    ("command", "exact h\nend", "new-command"),
    ("command", "simp\nnamespace Foo", "new-command"),
    ("command", "simp\nsection", "new-command"),
    ("command", "exact h #exit", "new-command"),
    ("command", "simp\n#print axioms foo", "new-command"),
    ("command", "simp\n#check False", "new-command"),
    ("command", "@[simp] theorem x : True := trivial", "new-command"),
    ("command", "exact h\ninstance : Inhabited Nat := ⟨0⟩", "new-command"),
    ("command", "exact h\ndef f := 1", "new-command"),
    ("command", "exact h\nopaque c : Nat", "new-command"),
    ("command", "exact h\ninductive Cheat", "new-command"),
    ("command", "exact h\nimport Lean", "new-command"),
    ("command", "exact h\nuniverse u", "new-command"),
    ("command", "exact h\nvariable (x : Nat)", "new-command"),
    ("command", "exact h\nmutual\nend", "new-command"),
    ("command", "exact h\nprivate def y := 0", "new-command"),
    ("command", "exact h\nnoncomputable def y := 0", "new-command"),
    ("command", "exact h\nderiving instance Repr for Nat", "new-command"),
    ("command", "exact aux\nwhere aux : True := trivial", "new-command"),
    ("command", "open Real", "new-command"),  # without `in` it ends the proof
    ("command", "simp\nopen Lean Elab", "new-command"),
    ("command", "set_option maxHeartbeats 0", "new-command"),
    ("command", "set_option in simp", "new-command"),
    # --- code run at elaboration time (could print forged replies)
    ("run", "run_tac Lean.Elab.Tactic.evalTactic (← `(tactic| trivial))", "run-code"),
    ("run", "open Lean Elab Tactic in run_tac do IO.println \"{}\"", "run-code"),
    ("run", "first | run_tac pure () | simp", "run-code"),
    ("run", "run_cmd Lean.logInfo \"x\"", "run-code"),
    ("run", "run_elab pure ()", "run-code"),
    ("run", "run_meta pure ()", "run-code"),
    ("run", "exact by_elab pure (Lean.mkConst ``True.intro)", "run-code"),
    ("run", "dbg_trace \"REPL> {}\"; simp", "run-code"),
    ("run", "have := include_str \"/etc/passwd\"", "run-code"),
    ("run", "simp\n#eval IO.println \"forged\"", "run-code"),
    ("run", "simp\n#eval! IO.println \"forged\"", "run-code"),
    # --- notation, attribute, macro and elab declarations
    ("syntax", "local notation \"cheat\" => sorry", "new-command"),
    ("syntax", "scoped notation \"cheat\" => 1", "new-command"),
    ("syntax", "simp\nnotation \"x\" => 1", "new-command"),
    ("syntax", "macro \"cheat\" : tactic => `(tactic| trivial)", "new-command"),
    ("syntax", "simp\nmacro_rules | `(tactic| trivial) => `(tactic| simp)", "new-command"),
    ("syntax", "elab \"cheat\" : tactic => pure ()", "new-command"),
    ("syntax", "syntax \"cheat\" : tactic", "new-command"),
    ("syntax", "infixl:65 \" +' \" => HAdd.hAdd", "new-command"),
    ("syntax", "attribute [local instance] Classical.propDecidable in simp", "new-command"),
    ("syntax", "simp\nattribute [simp] foo", "new-command"),
    ("syntax", "declare_syntax_cat cheat", "new-command"),
    ("syntax", "simp\ninitialize pure ()", "new-command"),
    ("syntax", "simp\nsimproc cheat (_) := fun _ => pure .continue", "new-command"),
    # --- trusting the compiler
    ("native", "native_decide", "native-decide"),
    ("native", "norm_num <;> native_decide", "native-decide"),
    ("native", "with_unfolding_all native_decide", "native-decide"),
    ("native", "decide +native", "native-decide"),
    ("native", "decide (config := { native := true })", "native-decide"),
    ("native", "decide (config := {native := Bool.true})", "native-decide"),
    ("native", "decide (config := { «native» := true })", "native-decide"),
    ("native", "exact Lean.ofReduceBool _ _ rfl", "native-decide"),
    ("native", "exact Lean.«ofReduceBool» _ _ rfl", "native-decide"),
    ("native", "exact _root_.Lean.ofReduceBool _ _ rfl", "native-decide"),
    ("native", "open Lean in exact ofReduceBool _ _ rfl", "native-decide"),
    ("native", "exact Lean.ofReduceNat _ _ rfl", "native-decide"),
    ("native", "have := Lean.trustCompiler", "native-decide"),
    ("native", "bv_decide", "native-decide"),
    ("native", "bv_check \"proof.lrat\"", "native-decide"),
    # --- switching the kernel off, or trusting compiled code, by option
    ("option", "set_option debug.skipKernelTC true in exact h", "unsafe-option"),
    ("option", "set_option debug.byAsSorry true in\n  exact h", "unsafe-option"),
    ("option", "set_option compiler.extract_closed false in decide", "unsafe-option"),
    ("option", "set_option interpreter.prefer_native true in decide", "unsafe-option"),
    ("option", "set_option allowUnsafeReducibility true in simp", "unsafe-option"),
    ("option", "set_option «debug».skipKernelTC true in simp", "unsafe-option"),
    ("option", "exact (set_option debug.skipKernelTC true in h)", "unsafe-option"),
    # --- control characters (terminal escapes, NUL, vertical tab)
    ("control", "simp\x00", "control-character"),
    ("control", "simp \x1b[2K", "control-character"),
    ("control", "simp\x0bsorry", "control-character"),
]

LEGITIMATE = [
    "norm_num",
    "simp",
    "omega",
    "decide",
    "exact?",
    "apply?",
    "positivity",
    "aesop",
    "tauto",
    "linarith [h₀, h₁]",
    "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), sq_abs x]",
    "norm_num [Nat.Prime] at h ⊢",
    "simp only [Finset.sum_range_succ, Finset.sum_range_zero]",
    "simp [Nat.succ_le_iff] at *",
    "simp_all [sq]",
    "field_simp\nring_nf",
    "rcases h with ⟨x, hx⟩",
    "obtain ⟨k, hk⟩ := h",
    "induction n with\n| zero => simp\n| succ n ih => omega",
    "calc a = b := by ring\n  _ = c := by simp [h]",
    "interval_cases x <;> simp_all",
    "exact mod_cast h",
    "conv_lhs => rw [h]",
    "refine ⟨_, ?_⟩\nuse 3",
    "gcongr",
    "push_cast\nzify [h]",
    "by_contra h\npush_neg at h\nlinarith",
    "exact ⟨1, by norm_num⟩",
    "norm_num [Real.sqrt_eq_iff]",
    "first | linarith | nlinarith [sq_nonneg x]",
    "all_goals (try norm_num)",
    "repeat rw [pow_succ]",
    "show (2:ℝ) ≤ 3; norm_num",
    "match h with\n| ⟨x, hx⟩ => exact hx",
    "intro x hx\nexact hx.1",
    "exact h.2.1",
    "rw [← h, mul_comm]",
    "rw [<- h]",
    "suffices h : x = 1 by simp [h]\nlinarith",
    "exact absurd h (by decide)",
    "exact (show 1 = 1 from rfl)",
    "have h' : x = 1 := by linarith\nexact h'",
    "simp [f ⁻¹' {0}]",  # Mathlib's preimage token ends in a quote
    "rw [Set.image] at h; exact f '' s",
    "exact ('a' : Char) ≠ 'b'",
    "decide (config := { kernel := true })",
    "simp (config := { decide := true })",
    "trace \"done\"\nsimp",
    "open Real in\nnorm_num [sqrt_eq_iff]",
    "open scoped BigOperators in simp",
    "open Real hiding pi in norm_num",
    "open Nat (succ_le) in omega",
    "set_option maxRecDepth 10000 in\n  decide",
    "set_option maxHeartbeats 400000 in nlinarith [h]",
    "set_option linter.unusedVariables false in exact h",
    "exact (set_option pp.all true in h)",
    "simp [h] -- done, no sorry needed",
    "/- multi\n  line, with theorem and sorry -/ simp",
    "-- sorry is not allowed\nsimp",
    "exact sorry_lemma h",  # identifiers that merely contain a forbidden word
    "exact h_sorry",
    "exact foo.sorry",  # a constant in namespace foo, not the sorry term
    "exact «sorry»",
    "exact native_lemma",
    "exact Nat.decEq_native",
    "exact #[1, 2].size_pos",
    "classical\nexact endpoint_lemma",
    "exact fun x => x",
    "decide +kernel",
]


def test_the_corpus_is_large_and_covers_every_category():
    assert len(ATTACKS) >= 60
    assert {category for category, _, _ in ATTACKS} == {"sorry", "literal", "command", "run", "syntax", "native", "option", "control"}
    assert {reason for _, _, reason in ATTACKS} == set(REASONS) - {"empty"}


@pytest.mark.parametrize(("category", "text", "reason"), ATTACKS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(ATTACKS)])
def test_attack_is_refused(category, text, reason):
    result = check_tactic(text)
    assert not result.ok, f"{category}: {text!r} passed"
    assert result.reason == reason, result
    assert result.detail


@pytest.mark.parametrize("text", LEGITIMATE)
def test_legitimate_tactic_passes(text):
    result = check_tactic(text)
    assert result.ok, result


def test_allowing_native_decide_relaxes_only_the_compiler_rule():
    natives = [text for category, text, _ in ATTACKS if category == "native"]
    assert all(check_tactic(text, allow_native_decide=True).ok for text in natives)
    others = [(text, reason) for category, text, reason in ATTACKS if category != "native"]
    assert all(check_tactic(text, allow_native_decide=True).reason == reason for text, reason in others)


@pytest.mark.parametrize("text", ["", "   \n\t\n", "-- just a comment", "/- block -/"])
def test_no_tactic_at_all_is_empty(text):
    assert check_tactic(text).reason == "empty"


def test_rules_name_the_line():
    result = check_tactic("norm_num\nsimp\ntheorem x : True := trivial")
    assert "line 3" in result.detail and "theorem" in result.detail


CONTEXT_ATTACKS = [
    ("import Mathlib\nmacro \"cheat\" : tactic => `(tactic| trivial)\n", "new-command"),
    ("import Mathlib\nelab \"cheat\" : tactic => pure ()\n", "new-command"),
    ("import Mathlib\nlocal notation \"ε\" => 0\n", "new-command"),
    ("import Mathlib\nrun_cmd Lean.logInfo \"x\"\n", "run-code"),
    ("import Mathlib\n#eval IO.println \"forged\"\n", "run-code"),
    ("import Mathlib\n#exit\n", "new-command"),
    ("import Mathlib\nset_option debug.skipKernelTC true\n", "unsafe-option"),
    ("import Mathlib\n@[implemented_by g] def f : Bool := true\n", "native-decide"),
    ("import Mathlib\nattribute [csimp] f_eq_g\n", "native-decide"),
    ("import Mathlib\nunsafe def f : Nat := 0\n", "native-decide"),
    ("import Mathlib\nlemma helper : True := by\n  run_tac pure ()\n", "run-code"),
    ("import Mathlib\ntheorem t (h : True := by exact sorryAx _ false) : True := by", "sorry"),
]


@pytest.mark.parametrize(("text", "reason"), CONTEXT_ATTACKS)
def test_untrusted_context_that_runs_code_or_extends_syntax_is_refused(text, reason):
    assert check_context(text).reason == reason


def test_ordinary_context_passes():
    header = (
        "import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000\nset_option maxRecDepth 100000\n"
        "open BigOperators Real Nat Topology Rat\n\nnamespace Foo\n/-- helper -/\n@[simp] lemma helper (x : ℕ) : x + 0 = x := by\n"
        "  simp\nnoncomputable def f (x : ℝ) : ℝ := x\nend Foo\n#print axioms Foo.helper\n"
        "theorem t (x : ℕ) (h : x = 1 := by rfl) : x = x := by"
    )
    assert check_context(header).ok
