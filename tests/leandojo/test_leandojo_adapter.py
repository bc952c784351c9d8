"""The LeanDojo adapter against the real classes of the installed ``lean-dojo`` package.

No Lean is available here, so ``FakeDojo`` stands in for the Lean process that
``lean_dojo.Dojo`` would run: it replays a script, but every state, result and exception
it hands to the adapter is an instance of the real ``lean_dojo`` class. Goal texts are
real Lean pretty-printing (MiniF2F ``amc12a_2015_p10``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# lean_dojo reads these at import time: keep its cache out of $HOME, never download,
# and never call the GitHub API (a token would make it log in on import).
os.environ.setdefault("CACHE_DIR", str(Path(tempfile.gettempdir()) / "lean-prover-tests-lean-dojo-cache"))
os.environ["DISABLE_REMOTE_CACHE"] = "1"
os.environ.pop("GITHUB_ACCESS_TOKEN", None)
lean_dojo = pytest.importorskip("lean_dojo")

from lean_env import EnvLimits  # noqa: E402
from lean_env.errors import BackendUnavailable, StatementError  # noqa: E402
from lean_env.leandojo import (  # noqa: E402
    LeanDojoConfig,
    LeanDojoEnvironment,
    split_pp_goals,
    split_tactic_blocks,
)
from lean_env.types import (  # noqa: E402
    EnvCrash,
    NewState,
    ProofComplete,
    StepTimeout,
    TacticError,
    TacticRejected,
    Theorem,
)

HYPS = "x y : ℤ\nh₀ : 0 < y\nh₁ : y < x\nh₂ : x + y + x * y = 80"
ROOT_PP = f"{HYPS}\n⊢ x = 26"
SPLIT_PP = f"case left\n{HYPS}\n⊢ x ≤ 26\n\ncase right\n{HYPS}\n⊢ 26 ≤ x"
THEOREM = Theorem(
    name="amc12a_2015_p10",
    statement="theorem amc12a_2015_p10 (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 26 := by",
    source="yangky11/miniF2F-lean4@5746b7d6c478:MiniF2F/Valid/amc12a_2015_p10.lean",
)
REPO = "stand-in for a lean_dojo.LeanGitRepo"  # building a real one needs git/GitHub

ROOT = lean_dojo.TacticState(ROOT_PP, 0)
SPLIT = lean_dojo.TacticState(SPLIT_PP, 1, "info: try 'omega'")
SCRIPT: dict[tuple[int, str], Any] = {
    (0, "apply le_antisymm"): SPLIT,
    (0, "nlinarith [h₀, h₁, h₂]"): lean_dojo.ProofFinished(2, ""),
    (0, "simp"): lean_dojo.LeanError("simp made no progress"),
    (0, "exact?"): lean_dojo.ProofGivenUp(),
    (0, "decide"): lean_dojo.DojoTacticTimeoutError(),
    (0, "omega"): lean_dojo.DojoCrashError("OOM"),
    (1, "all_goals nlinarith [h₀, h₁, h₂]"): lean_dojo.ProofFinished(3, "Try this: ..."),
    (1, "· nlinarith [h₀, h₁, h₂]"): lean_dojo.TacticState(f"case right\n{HYPS}\n⊢ 26 ≤ x", 4),
    (4, "· nlinarith [h₀, h₁, h₂]"): lean_dojo.ProofFinished(5, "Try this: ..."),
}


@dataclass
class FakeDojo:
    """Stands in for a Lean process: answers ``run_tac`` from ``SCRIPT`` with real lean_dojo objects."""

    entered: bool = False
    exited: bool = False
    calls: list[tuple[int, str]] = field(default_factory=list)

    def __enter__(self) -> tuple["FakeDojo", Any]:
        self.entered = True
        return self, ROOT

    def __exit__(self, *exc: object) -> None:
        self.exited = True

    def run_tac(self, state: Any, tactic: str) -> Any:
        assert isinstance(state, lean_dojo.TacticState)
        self.calls.append((state.id, tactic))
        outcome = SCRIPT[(state.id, tactic)]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@dataclass
class Factory:
    """Records what the adapter asks LeanDojo to open."""

    opened: list[tuple[Any, int, FakeDojo]] = field(default_factory=list)

    def __call__(self, theorem: Any, timeout: int) -> FakeDojo:
        dojo = FakeDojo()
        self.opened.append((theorem, timeout, dojo))
        return dojo


class FailingDojo(FakeDojo):
    """A Lean process that fails to start, as ``Dojo.__enter__`` does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def __enter__(self) -> tuple[FakeDojo, Any]:
        raise self.error


def make_env(factory: Factory, **config: Any) -> LeanDojoEnvironment:
    return LeanDojoEnvironment(LeanDojoConfig(repo=REPO, limits=EnvLimits(step_timeout_s=7), **config), dojo_factory=factory)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_start_opens_one_dojo_on_the_real_lean_dojo_theorem() -> None:
    factory = Factory()
    env = make_env(factory)

    async def go() -> tuple[Any, Any]:
        return await env.start(THEOREM), await env.start(THEOREM)

    first, second = run(go())
    assert first == second and first.goals == (ROOT_PP,)
    [(theorem, timeout, dojo)] = factory.opened
    assert isinstance(theorem, lean_dojo.Theorem)
    assert (theorem.repo, theorem.file_path, theorem.full_name) == (
        REPO, Path("MiniF2F/Valid/amc12a_2015_p10.lean"), "amc12a_2015_p10",
    )
    assert timeout == 7 and dojo.entered


def test_goals_are_split_exactly_as_lean_dojo_parses_them() -> None:
    goals = split_pp_goals(SPLIT.pp)
    assert goals == (f"case left\n{HYPS}\n⊢ x ≤ 26", f"case right\n{HYPS}\n⊢ 26 ≤ x")
    assert len(goals) == SPLIT.num_goals
    assert [g.split("⊢")[1].strip() for g in goals] == [g.conclusion for g in SPLIT.goals]


@pytest.mark.parametrize(
    ("tactic", "expected"),
    [
        ("nlinarith [h₀, h₁, h₂]", ProofComplete(())),
        ("simp", TacticError("simp made no progress")),
        ("exact?", TacticRejected(reason="sorry", message="the proof term contains `sorry`")),
        ("decide", StepTimeout(seconds=7.0)),
        ("omega", EnvCrash(reason="LeanDojo crashed: OOM", state_lost=True)),
    ],
)
def test_each_lean_dojo_outcome_maps_to_its_step_result(tactic: str, expected: Any) -> None:
    env = make_env(Factory())

    async def go() -> Any:
        return await env.step(await env.start(THEOREM), tactic)

    assert run(go()) == expected


def test_new_state_keeps_goals_messages_and_can_be_stepped_again() -> None:
    env = make_env(Factory())

    async def go() -> tuple[Any, Any, Any]:
        root = await env.start(THEOREM)
        split = await env.step(root, "apply le_antisymm")
        return root, split, await env.step(split.state, "all_goals nlinarith [h₀, h₁, h₂]")

    root, split, done = run(go())
    assert isinstance(split, NewState) and len(split.state.goals) == 2
    assert split.messages == ("info: try 'omega'",)
    assert done == ProofComplete(("Try this: ...",))
    assert root.goals == (ROOT_PP,)  # the root stays usable: states are persistent


def test_sorry_never_reaches_lean() -> None:
    factory = Factory()
    env = make_env(factory)

    async def go() -> Any:
        return await env.step(await env.start(THEOREM), "  sorry")

    result = run(go())
    assert isinstance(result, TacticRejected) and result.reason == "sorry"
    assert factory.opened[0][2].calls == []


def test_after_a_timeout_the_dojo_is_closed_and_start_reopens_one() -> None:
    factory = Factory()
    env = make_env(factory)

    async def go() -> tuple[Any, Any, Any]:
        root = await env.start(THEOREM)
        timeout = await env.step(root, "decide")
        stale = await env.step(root, "simp")
        fresh = await env.step(await env.start(THEOREM), "simp")
        return timeout, stale, fresh

    timeout, stale, fresh = run(go())
    assert isinstance(timeout, StepTimeout)
    assert isinstance(stale, EnvCrash) and stale.state_lost
    assert fresh == TacticError("simp made no progress")
    assert [dojo.exited for _, _, dojo in factory.opened] == [True, False]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lean_dojo.DojoInitError("Failed to locate the theorem with `amc12a_2015_p10` as its fully qualified name."),
         StatementError),
        (lean_dojo.DojoInitError("Cannot interact with theorems with the `where` keyword."), StatementError),
        (lean_dojo.DojoInitError("Unexpected EOF"), BackendUnavailable),
        (AssertionError("Unable to find Lean4Repl.lean in the traced repo."), BackendUnavailable),
    ],
)
def test_start_failures_are_classified(error: Exception, expected: type) -> None:
    env = LeanDojoEnvironment(LeanDojoConfig(repo=REPO), dojo_factory=lambda theorem, timeout: FailingDojo(error))
    with pytest.raises(expected, match="amc12a_2015_p10"):
        run(env.start(THEOREM))


def test_a_theorem_without_a_lean_file_is_a_statement_error() -> None:
    env = make_env(Factory())
    with pytest.raises(StatementError, match="file_path"):
        run(env.start(Theorem(name="t", statement="theorem t : True := by")))


def test_config_file_path_overrides_the_source() -> None:
    factory = Factory()
    run(make_env(factory, file_path="Other/File.lean").start(THEOREM))
    assert factory.opened[0][0].file_path == Path("Other/File.lean")


def test_no_repo_configured_is_backend_unavailable() -> None:
    env = LeanDojoEnvironment(LeanDojoConfig(), dojo_factory=Factory())
    with pytest.raises(BackendUnavailable, match="repo_url and commit"):
        run(env.start(THEOREM))


def test_verify_replays_each_top_level_block_in_a_fresh_dojo() -> None:
    factory = Factory()
    env = make_env(factory)
    proof = "apply le_antisymm\n· nlinarith [h₀, h₁, h₂]\n· nlinarith [h₀, h₁, h₂]\n"

    async def go() -> Any:
        await env.start(THEOREM)
        return await env.verify(THEOREM, proof)

    verdict = run(go())
    assert verdict.ok and verdict.checker == "leandojo" and verdict.theorem == THEOREM.name
    assert verdict.messages == ("info: try 'omega'", "Try this: ...")
    session_dojo, verify_dojo = (dojo for _, _, dojo in factory.opened)
    assert session_dojo.calls == [] and verify_dojo.exited
    assert [tactic for _, tactic in verify_dojo.calls] == [
        "apply le_antisymm", "· nlinarith [h₀, h₁, h₂]", "· nlinarith [h₀, h₁, h₂]",
    ]


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        ("apply le_antisymm", "goals remain"),
        ("simp", "tactic 1: simp made no progress"),
        ("exact?", "tactic 1: the proof term contains `sorry`"),
        ("decide", "tactic 1: DojoTacticTimeoutError"),
        ("nlinarith [h₀, h₁, h₂]\nsimp", "tactic 2 runs after the proof is finished"),
    ],
)
def test_verify_rejects_incomplete_or_failing_proofs(proof: str, reason: str) -> None:
    factory = Factory()
    verdict = run(make_env(factory).verify(THEOREM, proof))
    assert not verdict.ok and verdict.reason.startswith(reason)
    assert factory.opened[0][2].exited


@pytest.mark.parametrize("proof", ["nlinarith [h₀, h₁, h₂]\n  <;> sorry", "admit", "native_decide"])
def test_verify_refuses_forbidden_text_without_running_lean(proof: str) -> None:
    factory = Factory()
    verdict = run(make_env(factory).verify(THEOREM, proof))
    assert not verdict.ok and verdict.reason.split(":")[0] in {"sorry", "native-decide"}
    assert factory.opened == []


def test_aclose_closes_every_dojo() -> None:
    factory = Factory()

    async def go() -> None:
        async with make_env(factory) as env:
            await env.start(THEOREM)
            await env.start(Theorem(name="other", statement="theorem other : True := by", source="r@c:Other.lean"))

    run(go())
    assert len(factory.opened) == 2 and all(dojo.exited for _, _, dojo in factory.opened)


def test_tactic_blocks_follow_indentation() -> None:
    proof = (
        "  have h : x ≤ 26 := by\n"
        "    nlinarith\n"
        "\n"
        "  constructor\n"
        "  · simp\n"
        "    ring\n"
        "  · omega"
    )
    assert split_tactic_blocks(proof) == [
        "have h : x ≤ 26 := by\n  nlinarith", "constructor", "· simp\n  ring", "· omega",
    ]
    assert split_tactic_blocks("\n \n") == []


def test_missing_lean_dojo_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lean_dojo", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'lean-prover-agent\[leandojo\]'"):
        LeanDojoEnvironment(LeanDojoConfig(repo=REPO))
