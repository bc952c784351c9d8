"""One REPL subprocess at the real pipe boundary: framing, deadlines, kills, memory cap."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import psutil
import pytest

from lean_env.repl.process import ReplProcess, WorkerDied, WorkerTimeout
from lean_env.repl.protocol import CommandRequest, ErrorResponse, TacticRequest, TacticResponse, single_tactic

from .conftest import HERE, fake_config, still_running

STATEMENT = "theorem t (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by sorry"


async def _spawn(*flags: str, **overrides) -> tuple[ReplProcess, int]:
    """A fake REPL with its header loaded and the root state id of STATEMENT."""
    process = await ReplProcess.spawn(fake_config(*flags, **overrides).process_spec)
    header = await process.request(CommandRequest("import Mathlib"), 5)
    root = await process.request(CommandRequest(STATEMENT, env=header.env), 5)
    return process, root.sorries[0].proof_state


def test_requests_and_pretty_printed_responses_over_pipes():
    async def main():
        process, root = await _spawn()
        try:
            raw = await process.request(TacticRequest("have h2 : x < 2\nconstructor", root), 5)
            assert raw == ErrorResponse("Lean error:\n<input>:1:15: expected end of input")  # repl#43
            step = await process.request(TacticRequest(single_tactic("have h2 : x < 2\nconstructor"), root), 5)
            assert isinstance(step, TacticResponse)
            assert step.goals == ("case left\nx : Nat\nh : x = 1\nh2 : x < 2\n⊢ x = 1", "case right\nx : Nat\nh : x = 1\nh2 : x < 2\n⊢ x > 0")
            again = await process.request(TacticRequest("norm_num", root), 5)  # old ids stay valid
            assert again.goals == () and again.proof_status == "Completed"
        finally:
            await process.kill()

    asyncio.run(main())


def test_timeout_kills_the_whole_process_group():
    async def main():
        process, root = await _spawn("--as-lake-env")
        group = [process.pid] + [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
        assert len(group) == 2  # the `lake env`-like parent and the REPL it spawned
        with pytest.raises(WorkerTimeout):
            await process.request(TacticRequest("__hang", root), 0.5)
        assert not process.alive
        assert still_running(group) == []

    asyncio.run(main())


@pytest.mark.parametrize(
    ("tactic", "evidence"),
    [("__crash", "end of output"), ("__exit137", "exit code 137"), ("__sigkill", "exit code -9"), ("__garbage", "non-JSON")],
)
def test_death_is_reported_with_its_cause(tactic, evidence):
    async def main():
        process, root = await _spawn()
        with pytest.raises(WorkerDied, match=evidence):
            await process.request(TacticRequest(tactic, root), 5)
        assert not process.alive

    asyncio.run(main())


def test_memory_cap_is_applied_and_kills_a_runaway_repl():
    async def main():
        process, root = await _spawn(memory_limit_mb=768)
        assert psutil.Process(process.pid).rlimit(psutil.RLIMIT_AS)[0] == 768 * 1024 * 1024
        with pytest.raises(WorkerDied, match="out of memory"):
            await process.request(TacticRequest("__oom", root), 10)

    asyncio.run(main())


def test_cancelled_request_leaves_a_response_to_settle():
    async def main():
        process, root = await _spawn()
        try:
            task = asyncio.ensure_future(process.request(TacticRequest("__sleep 0.3", root), 5))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert process.owes_responses
            with pytest.raises(RuntimeError):
                await process.request(TacticRequest("skip", root), 5)
            assert await process.settle(5)
            step = await process.request(TacticRequest("constructor", root), 5)
            assert step.goals[0].startswith("case left")  # the answer to this request, not the stale one
        finally:
            await process.kill()

    asyncio.run(main())


def test_interpreter_exit_without_close_kills_the_group(tmp_path):
    """The atexit hook reaps REPLs a crashed or careless caller never closed."""
    script = tmp_path / "leak.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        sys.path[:0] = [{str(HERE.parents[1])!r}]
        from tests.repl.conftest import fake_config
        from lean_env.repl.process import ReplProcess
        async def main():
            process = await ReplProcess.spawn(fake_config("--as-lake-env").process_spec)
            await asyncio.sleep(0.3)
            import psutil
            kids = psutil.Process(process.pid).children(recursive=True)
            print(process.pid, *[k.pid for k in kids], flush=True)
            sys.exit(0)
        asyncio.run(main())
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    assert still_running(pids) == []
