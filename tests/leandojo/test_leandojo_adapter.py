"""The LeanDojo adapter against the real classes of the installed ``lean-dojo`` package.

No Lean is available here, so ``FakeDojo`` stands in for the Lean process that
``lean_dojo.Dojo`` would run: it replays a script, but every state, result and exception
it hands to the adapter is an instance of the real ``lean_dojo`` class. Goal texts are
real Lean pretty-printing (MiniF2F ``amc12a_2015_p10``). A command-mode ``FakeDojo``
(entered with ``(repo, file, line)``) answers ``run_cmd`` as LeanDojo's command REPL does:
non-error messages as bare lines, errors as ``LeanError``.
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
FILE = Path("MiniF2F/Valid/amc12a_2015_p10.lean")
CLEAN = "'amc12a_2015_p10' depends on axioms: [propext, Classical.choice, Quot.sound]"

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
    (0, "(apply le_antisymm\n · nlinarith [h₀, h₁, h₂]\n · nlinarith [h₀, h₁, h₂]\n)"): lean_dojo.ProofFinished(6, ""),
    (0, "(apply le_antisymm <;> nlinarith [h₀, h₁, h₂]\n)"): lean_dojo.ProofFinished(7, ""),
}
COMMANDS: dict[str, Any] = {  # proof text -> what command-mode LeanDojo answers for statement + proof + #print axioms
    "nlinarith [h₀, h₁, h₂]": lean_dojo.CommandState(1, CLEAN),
    "apply le_antisymm <;> nlinarith [h₀, h₁, h₂]": lean_dojo.CommandState(1, "Try this: ...\n" + CLEAN),
    "apply le_antisymm\n· nlinarith [h₀, h₁, h₂]\n· nlinarith [h₀, h₁, h₂]": lean_dojo.CommandState(1, CLEAN),
    "simp": lean_dojo.LeanError("unsolved goals\nx y : ℤ ⊢ x = 26"),
    "exact?": lean_dojo.CommandState(1, "declaration uses 'sorry'\n'amc12a_2015_p10' depends on axioms: [sorryAx]"),
    "__native": lean_dojo.CommandState(1, "'amc12a_2015_p10' depends on axioms: [propext,\n Lean.ofReduceBool]"),
    "decide": lean_dojo.DojoTacticTimeoutError(),
    "omega": lean_dojo.DojoCrashError("OOM"),
    # a look-alike printed by the proof (trace), then Lean's real report
    "__trace": lean_dojo.CommandState(1, "'amc12a_2015_p10' does not depend on any axioms\n'amc12a_2015_p10' depends on axioms: [sorryAx]"),
}
FORGED = lean_dojo.CommandState(1, CLEAN)  # a "REPL>" line the proof printed before LeanDojo's own


@dataclass
class FakeDojo:
    """Stands in for a Lean process: answers ``run_tac`` from ``SCRIPT`` and ``run_cmd`` from
    ``COMMANDS`` with real lean_dojo objects. ``timeout`` is what the adapter set last."""

    command_mode: bool = False
    timeout: int = 0
    entered: bool = False
    exited: bool = False
    calls: list[tuple[int, str]] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)  # replies already on the stream (a forgery shifts it)

    def __enter__(self) -> tuple["FakeDojo", Any]:
        self.entered = True
        return self, lean_dojo.CommandState(0) if self.command_mode else ROOT

    def __exit__(self, *exc: object) -> None:
        self.exited = True

    def run_tac(self, state: Any, tactic: str) -> Any:
        assert isinstance(state, lean_dojo.TacticState)
        self.calls.append((state.id, tactic))
        outcome = SCRIPT[(state.id, tactic)]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def run_cmd(self, state: Any, command: str) -> Any:
        assert isinstance(state, lean_dojo.CommandState)
        self.calls.append((state.id, command))
        if command.startswith("#check "):
            answer = lean_dojo.LeanError(f"unknown identifier '{command.split()[1]}'")
        else:
            proof = "\n".join(line[2:] for line in command.split("\n")[1:-2])  # between statement and #print
            assert command.split("\n")[0] == THEOREM.statement and command.endswith("\n#print axioms amc12a_2015_p10")
            answer = COMMANDS[proof] if proof != "__forge" else FORGED
            if proof == "__forge":
                self.pending.append(COMMANDS["simp"])  # LeanDojo's real reply comes after the forged one
        if self.pending and command.startswith("#check "):
            answer = self.pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Factory:
    """Records what the adapter asks LeanDojo to open (entry, start timeout, dojo)."""

    opened: list[tuple[Any, int, FakeDojo]] = field(default_factory=list)

    def __call__(self, entry: Any, timeout: int) -> FakeDojo:
        dojo = FakeDojo(command_mode=isinstance(entry, tuple))
        self.opened.append((entry, timeout, dojo))
        return dojo


class FailingDojo(FakeDojo):
    """A Lean process that fails to start, as ``Dojo.__enter__`` does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def __enter__(self) -> tuple[FakeDojo, Any]:
        raise self.error


@pytest.fixture
def traced(tmp_path: Path) -> Path:
    """A traced repository holding the theorem's file (what LeanDojo's cache would hold)."""
    lean = tmp_path / FILE
    lean.parent.mkdir(parents=True)
    lean.write_text(f"import Mathlib\n\nopen Real\n\n/-- AMC 12A 2015 problem 10 -/\n{THEOREM.statement}\n  sorry\n", encoding="utf-8")
    return tmp_path


def make_env(factory: Factory, traced: Path = Path("."), **config: Any) -> LeanDojoEnvironment:
    limits = EnvLimits(step_timeout_s=7, start_timeout_s=300, verify_timeout_s=120)
    return LeanDojoEnvironment(LeanDojoConfig(repo=REPO, limits=limits, **config), dojo_factory=factory, traced=lambda repo: traced)


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
    assert dojo.entered
    assert (timeout, dojo.timeout) == (300, 7)  # a cold start gets the start-up timeout, steps their own


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
    env = LeanDojoEnvironment(LeanDojoConfig(repo=REPO), dojo_factory=lambda theorem, timeout: FailingDojo(error), traced=lambda repo: Path("."))
    with pytest.raises(expected, match="amc12a_2015_p10"):
        run(env.start(THEOREM))


def test_an_untraced_repository_is_one_clear_error_and_no_dojo_opens() -> None:
    class Repo:
        url, commit = "https://github.com/yangky11/miniF2F-lean4", "5746b7d6c478"

    factory = Factory()
    env = LeanDojoEnvironment(LeanDojoConfig(repo=Repo()), dojo_factory=factory, traced=lambda repo: None)
    with pytest.raises(BackendUnavailable, match=r"no trace of https://github.com/yangky11/miniF2F-lean4@5746b7d6c478.*lean_dojo.trace") as info:
        run(env.start(THEOREM))
    assert "\n" not in str(info.value)
    with pytest.raises(BackendUnavailable, match="no trace"):
        run(env.verify(THEOREM, "nlinarith [h₀, h₁, h₂]"))
    assert factory.opened == []


def test_the_local_cache_lookup_never_traces(tmp_path: Path) -> None:
    from lean_env.leandojo import local_trace

    class Repo:
        name = "miniF2F-lean4"

        def get_cache_dirname(self) -> Path:
            return Path("yangky11-miniF2F-lean4-5746b7d6c478")

    assert local_trace(Repo(), tmp_path) is None
    (tmp_path / "yangky11-miniF2F-lean4-5746b7d6c478" / "miniF2F-lean4").mkdir(parents=True)
    assert local_trace(Repo(), tmp_path) == tmp_path / "yangky11-miniF2F-lean4-5746b7d6c478" / "miniF2F-lean4"
    assert local_trace(Repo()) is None  # LeanDojo's own cache (a temporary directory in these tests)


def test_a_theorem_without_a_lean_file_is_a_statement_error() -> None:
    env = make_env(Factory())
    with pytest.raises(StatementError, match="file_path"):
        run(env.start(Theorem(name="t", statement="theorem t : True := by")))


def test_config_file_path_overrides_the_source() -> None:
    factory = Factory()
    run(make_env(factory, file_path="Other/File.lean").start(THEOREM))
    assert factory.opened[0][0].file_path == Path("Other/File.lean")


def test_no_repo_configured_is_backend_unavailable() -> None:
    env = LeanDojoEnvironment(LeanDojoConfig(), dojo_factory=Factory(), traced=lambda repo: Path("."))
    with pytest.raises(BackendUnavailable, match="repo_url and commit"):
        run(env.start(THEOREM))


@pytest.mark.parametrize(
    "tactic",
    ["apply le_antisymm\n· nlinarith [h₀, h₁, h₂]\n· nlinarith [h₀, h₁, h₂]", "apply le_antisymm <;> nlinarith [h₀, h₁, h₂]"],
)
def test_a_tactic_sequence_goes_to_lean_dojo_as_one_tactic(tactic: str) -> None:
    """LeanDojo parses one ``tactic``, like the REPL (repl#43): sequences are parenthesised."""
    factory = Factory()
    env = make_env(factory)

    async def go() -> Any:
        return await env.step(await env.start(THEOREM), tactic)

    assert isinstance(run(go()), ProofComplete)
    [(_, sent)] = factory.opened[0][2].calls
    assert sent.startswith("(") and sent.endswith("\n)")


@pytest.mark.parametrize("proof", list(COMMANDS)[:3])
def test_verify_compiles_the_whole_proof_in_a_command_mode_dojo_and_audits_axioms(proof: str, traced: Path) -> None:
    factory = Factory()
    env = make_env(factory, traced)

    async def go() -> Any:
        await env.start(THEOREM)
        return await env.verify(THEOREM, proof)

    verdict = run(go())
    assert verdict.ok and verdict.checker == "leandojo" and verdict.theorem == THEOREM.name
    assert verdict.axioms == ("propext", "Classical.choice", "Quot.sound")
    (session_entry, _, session_dojo), (entry, timeout, verify_dojo) = factory.opened
    assert session_dojo.calls == [] and verify_dojo.exited
    assert entry == (REPO, FILE, 5)  # the declaration's first line (its doc comment) in the traced file
    assert (timeout, verify_dojo.timeout) == (300, 7)  # started with the start timeout; the nonce check with the step's
    (_, command), (_, sync) = verify_dojo.calls
    assert command.endswith("#print axioms amc12a_2015_p10") and sync.startswith("#check prover_sync_")


@pytest.mark.parametrize(
    ("proof", "failure", "reason"),
    [
        ("simp", "error", "error: unsolved goals"),
        ("exact?", "sorry", "the proof uses sorry"),
        ("__native", "axioms", "uses axioms outside the allow-list: Lean.ofReduceBool"),
        ("__trace", "axioms", "more than one axioms report"),
        ("__forge", "crash", "a reply out of step"),
        ("decide", "timeout", "timeout"),
        ("omega", "crash", "LeanDojo crashed: OOM"),
    ],
)
def test_verify_refuses_failing_forged_or_unsound_proofs(proof: str, failure: str, reason: str, traced: Path) -> None:
    factory = Factory()
    verdict = run(make_env(factory, traced).verify(THEOREM, proof))
    assert not verdict.ok and verdict.failure == failure and verdict.reason.startswith(reason), verdict
    assert factory.opened[0][2].exited


def test_native_evaluation_allowed_relaxes_rule_and_allow_list_together(traced: Path) -> None:
    env = make_env(Factory(), traced, allow_native_decide=True)
    assert run(env.verify(THEOREM, "__native")).ok


@pytest.mark.parametrize("proof", ["nlinarith [h₀, h₁, h₂]\n  <;> sorry", "admit", "native_decide", "run_tac pure ()"])
def test_verify_refuses_forbidden_text_without_running_lean(proof: str) -> None:
    factory = Factory()
    verdict = run(make_env(factory).verify(THEOREM, proof))
    assert not verdict.ok and verdict.failure == "rejected"
    assert verdict.reason.split(":")[0] in {"sorry", "native-decide", "run-code"}
    assert factory.opened == []


def test_verify_of_a_theorem_missing_from_its_file_is_a_statement_failure(traced: Path) -> None:
    other = Theorem(name="not_there", statement="theorem not_there : True := by", source=THEOREM.source)
    verdict = run(make_env(Factory(), traced).verify(other, "trivial"))
    assert not verdict.ok and verdict.failure == "statement" and "no theorem not_there" in verdict.reason


def test_aclose_closes_every_dojo() -> None:
    factory = Factory()

    async def go() -> None:
        async with make_env(factory) as env:
            await env.start(THEOREM)
            await env.start(Theorem(name="other", statement="theorem other : True := by", source="r@c:Other.lean"))

    run(go())
    assert len(factory.opened) == 2 and all(dojo.exited for _, _, dojo in factory.opened)


def test_missing_lean_dojo_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lean_dojo", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'lean-prover-agent\[leandojo\]'"):
        LeanDojoEnvironment(LeanDojoConfig(repo=REPO))


def test_leandojo_flags_reach_the_environment() -> None:
    from prover.backends import build_environment
    from prover.cli import prove
    from prover.cli.common import config_from_options

    args = ["theorem t : True := by", "--env", "leandojo", "--leandojo-repo", "https://github.com/yangky11/miniF2F-lean4",
            "--leandojo-commit", "5746b7d6c478", "--set", "env.limits.start_timeout_s=900"]
    config = config_from_options(prove.command.make_context("prove", args).params)
    assert (config.env.kind, config.env.leandojo_repo, config.env.leandojo_commit) == (
        "leandojo", "https://github.com/yangky11/miniF2F-lean4", "5746b7d6c478",
    )
    env = build_environment(config.env, "leandojo")  # lazy: nothing is contacted or traced yet
    assert isinstance(env, LeanDojoEnvironment)
    with pytest.raises(BackendUnavailable, match="--leandojo-repo URL and --leandojo-commit SHA"):
        build_environment(config_from_options(prove.command.make_context("prove", args[:3]).params).env, "leandojo")
