"""Integration tests against a real Lean REPL (marker ``lean``).

Skipped unless ``PROVER_LEAN_PROJECT`` names a Lake project with Mathlib built. The REPL
binary is ``PROVER_REPL_BIN`` if set, else ``<project>/.lake/packages/REPL/.lake/build/bin/repl``
(the REPL as a Lake dependency of the project); it runs as ``lake env <binary>``.
One environment serves the whole module so that ``import Mathlib`` is paid once.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from lean_env.errors import StatementError
from lean_env import EnvLimits
from lean_env.repl import DEFAULT_AXIOMS, ReplConfig, ReplEnvironment
from lean_env.types import ProofComplete, TacticError, TacticRejected, Theorem

from .conftest import TRANSCRIPTS

PROJECT = os.environ.get("PROVER_LEAN_PROJECT", "")
MINIF2F = TRANSCRIPTS.parents[1] / "minif2f" / "minif2f_lean4.jsonl"


def _minif2f(name: str) -> Theorem:
    """A theorem of the primary MiniF2F file (Lean v4.24.0, Mathlib f897ebcf), with its header."""
    for line in MINIF2F.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["name"] == name:
            return Theorem(name, record["formal_statement"], header=record["header"])
    raise LookupError(name)


def _repl_binary() -> Path:
    explicit = os.environ.get("PROVER_REPL_BIN")
    return Path(explicit) if explicit else Path(PROJECT) / ".lake" / "packages" / "REPL" / ".lake" / "build" / "bin" / "repl"


pytestmark = [
    pytest.mark.lean,
    pytest.mark.skipif(not PROJECT or not Path(PROJECT).is_dir(), reason="set PROVER_LEAN_PROJECT to a Lean project with Mathlib"),
]

ALGEBRA = _minif2f("mathd_algebra_10")  # proved by `norm_num` in yangky11/miniF2F-lean4 (tactic_data)
HEADER = ALGEBRA.header
FALSE = Theorem("false_sum", "theorem false_sum : (2 : ℕ) + 2 = 5 := by", header=HEADER)
DECIDABLE = Theorem("small_lt", "theorem small_lt : (10 : ℕ) < 20 := by", header=HEADER)


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _config(**overrides) -> ReplConfig:
    binary = _repl_binary()
    if not binary.is_file():
        pytest.skip(f"no REPL binary at {binary} (set PROVER_REPL_BIN)")
    return ReplConfig(command=("lake", "env", str(binary)), cwd=Path(PROJECT), **overrides,
                      limits=EnvLimits(step_timeout_s=120.0, start_timeout_s=900.0, verify_timeout_s=300.0))


@pytest.fixture(scope="module")
def env(loop):
    environment = ReplEnvironment(_config())
    yield environment
    loop.run_until_complete(environment.aclose())


def test_start_and_step_norm_num(env, loop):
    async def main():
        root = await env.start(ALGEBRA)
        assert len(root.goals) == 1 and root.goals[0].startswith("⊢ |")
        failed = await env.step(root, "exact my_fake_premise")  # error recovery: new state + error message
        assert isinstance(failed, TacticError) and "my_fake_premise" in failed.message
        assert isinstance(await env.step(root, "norm_num"), ProofComplete)
        assert isinstance(await env.step(root, "norm_num\ndone"), ProofComplete)  # a sequence as one step

    loop.run_until_complete(main())


def test_verify_correct_and_incorrect_with_axiom_audit(env, loop):
    async def main():
        good = await env.verify(ALGEBRA, "norm_num")
        assert good.ok, good
        assert good.axioms is not None and set(good.axioms) <= set(DEFAULT_AXIOMS)
        bad = await env.verify(FALSE, "norm_num")
        assert not bad.ok and bad.reason.startswith("error")

    loop.run_until_complete(main())


def test_native_decide_is_rejected(env, loop):
    async def main():
        root = await env.start(DECIDABLE)
        assert await env.step(root, "native_decide") == TacticRejected("native-decide", "'native_decide' at line 1")
        assert not (await env.verify(DECIDABLE, "native_decide")).ok

    loop.run_until_complete(main())


def test_allowing_native_decide_allows_its_axioms_too(loop):
    async def main():
        async with ReplEnvironment(_config(allow_native_decide=True)) as permissive:
            verdict = await permissive.verify(DECIDABLE, "native_decide")
            assert verdict.ok and "Lean.ofReduceBool" in verdict.axioms

    loop.run_until_complete(main())


def test_sorry_in_a_helper_of_the_header_shows_in_the_audit(env, loop):
    """The header is elaborated as its own command on the imports; a theorem that leans on
    a sorry'd helper is refused by the axiom audit of the combined verify command."""
    helper = Theorem("uses_helper", "theorem uses_helper : (2 : ℕ) + 2 = 4 := by",
                     header=HEADER + "\ntheorem helper : (2 : ℕ) + 2 = 4 := by sorry\n")

    async def main():
        verdict = await env.verify(helper, "exact helper")
        assert not verdict.ok and verdict.failure == "axioms" and "sorryAx" in verdict.reason

    loop.run_until_complete(main())


def test_statement_errors_carry_lean_positions(env, loop):
    async def main():
        with pytest.raises(StatementError) as info:
            await env.start(Theorem("bad", "theorem bad : (2 : ℕ) + undefined_thing = 4 := by", header=HEADER))
        assert info.value.line == 1 and info.value.column is not None

    loop.run_until_complete(main())
