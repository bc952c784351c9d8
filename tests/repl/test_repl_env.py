"""ReplEnvironment driven through the real pool against the stand-in REPL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from lean_env import Environment
from lean_env.errors import BackendUnavailable, EnvironmentFault, StatementError
from lean_env.repl import ReplConfig, ReplEnvironment, ReplHandle
from lean_env.types import (
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepTimeout,
    TacticError,
    TacticRejected,
    Theorem,
)

from .conftest import HERE, fake_config, still_running

HEADER = "import Mathlib\nopen Real\n"
AND = Theorem("t_and", "theorem t_and (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by", header=HEADER)
# statements recorded in the upstream transcripts (v4.24.0): the stand-in replays Lean's real answers
BRANCHING = Theorem("complex_and", "theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by")
INVALID = Theorem("my_theorem", "theorem my_theorem (x : Nat) : x = x := by")


def run(coro):
    return asyncio.run(coro)


async def _walk(env, state, *tactics):
    """Step ``tactics`` in order, asserting each opens a new state; the last state."""
    for tactic in tactics:
        result = await env.step(state, tactic)
        assert isinstance(result, NewState), (tactic, result)
        state = result.state
    return state


def test_is_an_environment():
    assert isinstance(ReplEnvironment(fake_config()), Environment)
    assert ReplEnvironment.name == "lean-repl"


def test_recorded_lean_session_branching_to_completion():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            root = await env.start(BRANCHING)
            assert root.goals == ("p q r : Prop\nh1 : p ∧ q\nh2 : q → r\n⊢ p ∧ r",)
            split = await _walk(env, root, "apply And.intro")
            assert [g.split("\n")[0] for g in split.goals] == ["case left", "case right"]
            right = await _walk(env, split, "exact h1.left", "apply h2")
            assert isinstance(await env.step(right, "exact h1.right"), ProofComplete)
            # states are persistent: branch again from the root
            again = await env.step(root, "apply And.intro")
            assert again.state == split and again.state.handle.proof_state != split.handle.proof_state

    run(main())


@pytest.mark.parametrize("version", ["v4.9.0", "v4.24.0"])
def test_error_with_new_proof_state_is_a_tactic_error(version):
    async def main():
        async with ReplEnvironment(fake_config(version=version)) as env:
            root = await env.start(INVALID)
            result = await env.step(root, "exact my_fake_premise")
            assert isinstance(result, TacticError) and "my_fake_premise" in result.message

    run(main())


def test_tactic_sequences_are_sent_as_one_tactic():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            root = await env.start(AND)
            both = await _walk(env, root, "have h2 : x < 2\nconstructor")
            assert [g.split("\n")[0] for g in both.goals] == ["case left", "case right"]
            assert isinstance(await env.step(both, "exact h; norm_num"), ProofComplete)

    run(main())


def test_scripted_proof_on_v4_9_without_proof_status():
    async def main():
        async with ReplEnvironment(fake_config(version="v4.9.0")) as env:
            state = await _walk(env, await env.start(AND), "constructor", "exact h")
            assert isinstance(await env.step(state, "norm_num"), ProofComplete)
            assert isinstance(await env.step(state, "sorry_free_but_unknown"), TacticError)

    run(main())


def test_hygiene_rejections_never_reach_lean():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            root = await env.start(AND)
            assert (await env.step(root, "sorry")).reason == "sorry"
            assert (await env.step(root, "native_decide")).reason == "native-decide"
            assert (await env.step(root, "simp\ntheorem cheat : False := sorry")).reason == "new-command"
            assert isinstance(await env.step(root, ""), TacticRejected)
            assert env.pool.workers[0].steps == 2  # the header's "open Real" and the statement only

    run(main())


def test_statement_and_header_errors():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            with pytest.raises(StatementError) as info:
                await env.start(Theorem("bad", "theorem bad (x : Nat) :\n    x = bogus := by", header=HEADER))
            assert (info.value.line, info.value.column) == (2, 9)
            with pytest.raises(StatementError, match="expected ':='"):
                await env.start(Theorem("nobody", "theorem nobody : True", header=HEADER))
            with pytest.raises(StatementError, match="header: unknown module prefix") as info:
                await env.start(Theorem("t", AND.statement, header="import Mathlib\nimport MissingLib\n"))
            assert info.value.line == 2

    run(main())


def test_unrunnable_command_is_backend_unavailable(tmp_path):
    async def main():
        async with ReplEnvironment(ReplConfig(command=(str(tmp_path / "no-such-repl"),), cwd=tmp_path)) as env:
            with pytest.raises(BackendUnavailable):
                await env.start(AND)

    run(main())


def test_timeout_kills_and_the_theorem_goes_on_by_replay():
    async def main():
        async with ReplEnvironment(fake_config("--as-lake-env", step_timeout_s=0.5)) as env:
            deep = await _walk(env, await env.start(AND), "have h2 : x < 2", "constructor")
            worker = env.pool.workers[0]
            group = [worker.process.pid] + [c.pid for c in psutil.Process(worker.process.pid).children()]
            assert await env.step(deep, "__hang") == StepTimeout(0.5)
            assert still_running(group) == []
            after = await env.step(deep, "exact h")  # rebuilt from the handle's path on a new REPL
            assert isinstance(after, NewState)
            assert after.state.goals == ("case right\nx : Nat\nh : x = 1\nh2 : x < 2\n⊢ x > 0",)
            assert worker.generation == 2 and after.state.handle.generation == 2

    run(main())


@pytest.mark.parametrize("fault", ["__crash", "__exit137", "__sigkill", "__garbage"])
def test_worker_death_is_an_env_crash_and_the_worker_is_replaced(fault):
    async def main():
        async with ReplEnvironment(fake_config("--as-lake-env")) as env:
            state = await _walk(env, await env.start(AND), "constructor")
            crash = await env.step(state, fault)
            assert isinstance(crash, EnvCrash) and not crash.state_lost
            state = await _walk(env, state, "exact h")
            assert isinstance(await env.step(state, "norm_num"), ProofComplete)

    run(main())


def test_memory_cap_kill_recovers_like_a_crash():
    async def main():
        async with ReplEnvironment(fake_config(memory_limit_mb=768)) as env:
            state = await _walk(env, await env.start(AND), "constructor")
            crash = await env.step(state, "__oom")
            assert isinstance(crash, EnvCrash) and "out of memory" in crash.reason
            assert isinstance(await env.step(state, "exact h"), NewState)

    run(main())


def test_recycling_restarts_workers_and_replays_lazily():
    async def main():
        async with ReplEnvironment(fake_config(recycle_after_steps=5)) as env:
            root = await env.start(AND)
            branch = await _walk(env, root, "have a : 1 = 1", "have b : 2 = 2", "constructor")
            worker = env.pool.workers[0]
            assert (worker.generation, worker.steps) == (1, 5)  # "open Real", statement and 3 tactics: due
            done = await _walk(env, branch, "exact h")
            assert worker.generation == 2 and done.handle.generation == 2
            assert isinstance(await env.step(done, "norm_num"), ProofComplete)
            sibling = await env.step(root, "have c : 3 = 3")  # the root too is rebuilt after recycling
            assert sibling.state.goals == ("x : Nat\nh : x = 1\nc : 3 = 3\n⊢ x = 1 ∧ x > 0",)
            assert worker.generation >= 3

    run(main())


def test_replay_that_fails_loses_the_state(tmp_path):
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            once = f"__once {tmp_path / 'flag'}"
            state = await _walk(env, await env.start(AND), once, "constructor")
            await env.step(state, "__crash")
            lost = await env.step(state, "exact h")
            assert isinstance(lost, EnvCrash) and lost.state_lost
            forged = ProofState(("⊢ something else",), ReplHandle(AND, 0, 0, 0, ()))
            assert (await env.step(forged, "skip")).state_lost  # goals differ from the rebuilt root

    run(main())


def test_restart_storm_is_bounded(tmp_path):
    flag = tmp_path / "broken"

    async def main():
        async with ReplEnvironment(fake_config("--fail-start-if-exists", str(flag), max_restarts=3)) as env:
            state = await env.start(AND)
            flag.touch()
            assert isinstance(await env.step(state, "__crash"), EnvCrash)
            with pytest.raises(EnvironmentFault, match="3 times in a row"):
                await env.step(state, "constructor")

    run(main())


def test_concurrent_steps_spread_over_workers_with_affinity():
    theorems = [Theorem(f"t{i}", AND.statement.replace("t_and", f"t{i}"), header=HEADER) for i in range(8)]

    async def search(env, theorem):
        root = await env.start(theorem)
        state = await _walk(env, root, "constructor")
        done = await _walk(env, state, "exact h")
        result = await env.step(done, "norm_num")
        return {root.handle.worker, state.handle.worker, done.handle.worker}, result

    async def main():
        async with ReplEnvironment(fake_config("--delay-ms", "20", workers=4)) as env:
            outcomes = await asyncio.gather(*(search(env, t) for t in theorems))
            assert all(isinstance(result, ProofComplete) for _, result in outcomes)
            assert all(len(workers) == 1 for workers, _ in outcomes)  # one theorem, one worker
            assert sorted(w.theorems for w in env.pool.workers) == [2, 2, 2, 2]
            assert len({w.process.pid for w in env.pool.workers}) == 4
            assert {w.generation for w in env.pool.workers} == {1}  # each imported its header once

    run(main())


def test_imports_key_workers_and_a_full_pool_hands_a_worker_over():
    other = Theorem("t_other", AND.statement.replace("t_and", "t_other"), header="import Aesop\n")

    async def main():
        async with ReplEnvironment(fake_config(workers=1)) as env:
            first = await _walk(env, await env.start(AND), "constructor")
            second = await _walk(env, await env.start(other), "constructor")
            worker = env.pool.workers[0]
            assert worker.header == other.header
            done = await _walk(env, first, "exact h")  # AND's state is replayed after taking the worker back
            assert worker.header == "import Mathlib\n" and done.handle.generation == worker.generation
            assert isinstance(await env.step(second, "exact h"), NewState)

    run(main())


def test_headers_sharing_imports_share_a_warm_worker():
    """Only the import lines key a worker: the rest of a header (opens, options, helper
    lemmas) is one cached command on the imported env, so nothing is imported twice."""
    contexts = ["open Real\n", "set_option maxHeartbeats 400000\nopen Nat\n", "lemma helper : True := by\n  trivial\n"]
    theorems = [Theorem(f"t{i}", AND.statement.replace("t_and", f"t{i}"), header="import Mathlib\n" + c) for i, c in enumerate(contexts)]

    async def main():
        async with ReplEnvironment(fake_config(workers=1)) as env:
            for theorem in theorems + theorems:
                assert (await env.verify(theorem, "constructor\nexact h\nnorm_num")).ok
            worker = env.pool.workers[0]
            assert (worker.generation, worker.header) == (1, "import Mathlib\n")
            # each context elaborated once; each verify is its command and the sync
            assert worker.steps == len(contexts) + 2 * 2 * len(theorems)
            with pytest.raises(StatementError, match="header: unknown identifier 'bogus'") as info:
                await env.start(Theorem("b", AND.statement, header="import Mathlib\nopen Real\n\nexample : bogus := by\n"))
            assert info.value.line == 4  # the line in the whole header, imports included

    run(main())


def test_verify_accepts_audits_axioms_and_rejects():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            good = await env.verify(AND, "constructor\nexact h\nnorm_num")
            assert good.ok and good.checker == "lean-repl" and good.failure == ""
            assert good.axioms == ("propext", "Classical.choice", "Quot.sound")
            unfinished = await env.verify(AND, "constructor\nexact h")
            assert not unfinished.ok and "unsolved goals" in unfinished.reason and unfinished.messages
            assert unfinished.failure == "error" and unfinished.messages[0].startswith("error ")
            rejected = await env.verify(AND, "sorry")
            assert rejected.reason.startswith("rejected (sorry)") and rejected.failure == "rejected"
            assert (await env.verify(AND, "constructor\nexact h\nskip")).failure == "error"
            example = await env.verify(Theorem("e", "example : True := by"), "trivial")
            assert not example.ok and example.failure == "statement"
            # the audit stands behind the text rules: native evaluation they did not see is caught
            hidden = await env.verify(AND, "constructor\nexact h\n__native")
            assert not hidden.ok and hidden.failure == "axioms" and "Lean.ofReduceBool" in hidden.reason
            assert (await env.verify(AND, "constructor\nexact h\nnative_decide")).reason.startswith("rejected (native-decide)")
        async with ReplEnvironment(fake_config(allow_native_decide=True)) as env:
            # the option relaxes the rule and the allow-list together
            native = await env.verify(AND, "constructor\nexact h\nnative_decide")
            assert native.ok and "Lean.ofReduceBool" in native.axioms
            assert env.config.accepted_axioms[-2:] == ("Lean.ofReduceBool", "Lean.trustCompiler")

    run(main())


def test_closed_environment_refuses_work_and_leaves_no_process():
    async def main():
        env = ReplEnvironment(fake_config("--as-lake-env", workers=2))
        with pytest.raises(RuntimeError, match="boom"):
            async with env:
                await env.start(AND)
                raise RuntimeError("boom")
        with pytest.raises(EnvironmentFault):
            await env.start(AND)

    run(main())  # the autouse fixture checks that no REPL process is left


def test_cancelled_step_does_not_desynchronise_the_worker():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            root = await env.start(AND)
            slow = asyncio.ensure_future(env.step(root, "__sleep 0.3"))
            await asyncio.sleep(0.1)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            result = await env.step(root, "constructor")
            assert isinstance(result, NewState) and result.state.goals[0].startswith("case left")
            assert env.pool.workers[0].generation == 1  # drained, not restarted

    run(main())


def test_ctrl_c_leaves_no_repl_behind(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, signal, sys
        sys.path[:0] = [{str(HERE.parents[1])!r}]
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if inherited as ignored
        import psutil
        from tests.repl.conftest import fake_config
        from lean_env.repl import ReplEnvironment, watchdog
        from lean_env.types import Theorem
        AND = Theorem(name={AND.name!r}, statement={AND.statement!r}, header={AND.header!r})
        async def main():
            async with ReplEnvironment(fake_config("--as-lake-env", workers=2)) as env:
                root = await env.start(AND)
                kids = psutil.Process().children(recursive=True)
                print(*[k.pid for k in kids if k.pid != watchdog.watchdog_pid()], flush=True)
                await env.step(root, "__hang")
        asyncio.run(main())
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in err  # interrupted mid-step, not finished by the 5 s step timeout
    assert still_running(pids) == []
