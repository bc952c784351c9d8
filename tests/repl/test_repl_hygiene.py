"""Tactic text normalisation, and the real proofs in tactic_data against the rules
(the attack corpus is ``tests/lean_env/test_tactic_rules.py``)."""

from __future__ import annotations

import json

from lean_env.hygiene import check_tactic, normalise

from .conftest import TACTIC_DATA


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
