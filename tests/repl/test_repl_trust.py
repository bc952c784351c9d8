"""Verification that a proof's own output cannot forge, and pool faults that must not leak.

The stand-in REPL plays a proof that prints forged replies on the REPL's stdout before
the REPL's own reply (what ``run_tac`` could do in real Lean; the tactic rules refuse
it, so here the stand-in does it under a magic tactic name the rules do not know).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from lean_env.repl import ReplEnvironment, watchdog
from lean_env.repl.process import OutOfStep, ReplProcess
from lean_env.repl.protocol import CommandRequest
from lean_env.types import EnvCrash, NewState, Theorem

from .conftest import HERE, fake_config, still_running

AND = Theorem("t_and", "theorem t_and (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by", header="import Mathlib\n")
BARE = dataclasses.replace(AND, header="")
GOOD = "constructor\nexact h\nnorm_num"
BAD = "constructor\nexact h"  # leaves `x > 0` open: Lean's real reply is an error


@pytest.mark.parametrize(
    ("mode", "failure", "noisy_failure"),
    [
        ("replies", "crash", "crash"),  # a compile reply, then "'t_and' does not depend on any axioms"
        ("combined", "crash", "crash"),  # one perfect reply: no error, clean axioms at the audit line
        ("sync", "crash", "crash"),  # that, plus an answer to the nonce check with a guessed nonce
        ("half", "crash", "crash"),  # half a JSON object glued to the real reply
        ("shape", "crash", "crash"),  # a JSON object of no REPL shape
        ("trace", "error", "axioms"),  # no printing: a look-alike axioms message inside the real reply
    ],
)
def test_every_forged_reply_is_refused(mode, failure, noisy_failure):
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            forged = await env.verify(AND, f"__forge {mode}\n{BAD}")
            honest_but_noisy = await env.verify(AND, f"{GOOD}\n__forge {mode}")
            after = await env.verify(AND, GOOD)  # the worker was restarted and is in step again
            return forged, honest_but_noisy, after

    forged, noisy, after = asyncio.run(main())
    assert not forged.ok and forged.failure == failure, forged
    assert not noisy.ok and noisy.failure == noisy_failure  # a correct proof that prints a look-alike is refused too
    assert after.ok and after.axioms == ("propext", "Classical.choice", "Quot.sound")


def test_a_forged_reply_at_the_process_level_is_out_of_step_and_kills_the_repl():
    async def main():
        process = await ReplProcess.spawn(fake_config().process_spec)
        header = await process.request(CommandRequest("import Mathlib"), 5)
        text = f"{BARE.with_proof('__forge combined')}\n#print axioms t_and\n"
        with pytest.raises(OutOfStep):
            await process.request_sealed(CommandRequest(text, env=header.env), 5, sync_env=header.env, sync_timeout=5)
        assert not process.alive
        honest = await ReplProcess.spawn(fake_config().process_spec)
        try:
            header = await honest.request(CommandRequest("import Mathlib"), 5)
            text = f"{BARE.with_proof(GOOD)}\n#print axioms t_and\n"
            reply = await honest.request_sealed(CommandRequest(text, env=header.env), 5, sync_env=header.env, sync_timeout=5)
            assert not reply.errors and "axioms" in reply.messages[-1].data
        finally:
            await honest.kill()

    asyncio.run(main())


def test_an_oversized_reply_is_a_crash_and_a_fresh_worker_serves_on():
    async def main():
        async with ReplEnvironment(fake_config(max_reply_mb=0.25)) as env:
            state = await env.start(AND)
            crash = await env.step(state, "__bigreply 400000")
            assert isinstance(crash, EnvCrash) and "byte limit" in crash.reason
            after = await env.step(state, "constructor")  # replayed on a new process
            assert isinstance(after, NewState) and env.pool.workers[0].generation == 2
            assert (await env.verify(AND, GOOD)).ok

    asyncio.run(main())


def test_no_process_of_the_pool_outlives_a_sigkilled_driver(tmp_path):
    """kill -9 the driver while a worker hangs in a tactic: the watchdog kills every REPL
    process group (``lake env``-like parents and the REPLs they spawned)."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        sys.path[:0] = [{str(HERE.parents[1])!r}]
        import psutil
        from tests.repl.conftest import fake_config
        from lean_env.repl import ReplEnvironment, watchdog
        from lean_env.types import Theorem
        AND = Theorem(name={AND.name!r}, statement={AND.statement!r}, header={AND.header!r})
        OTHER = Theorem(name="t2", statement={AND.statement.replace("t_and", "t2")!r}, header="import Aesop\\n")
        async def main():
            env = ReplEnvironment(fake_config("--as-lake-env", workers=2, step_timeout_s=600.0))
            root = await env.start(AND)
            await env.start(OTHER)
            kids = [k.pid for k in psutil.Process().children(recursive=True) if k.pid != watchdog.watchdog_pid()]
            print(watchdog.watchdog_pid(), *kids, flush=True)
            await env.step(root, "__hang")
        asyncio.run(main())
    """))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    dog, *pool = [int(p) for p in driver.stdout.readline().split()]
    assert len(pool) == 4  # two workers, each a `lake env`-like parent and its REPL
    assert still_running(pool, grace_s=0.5) == pool  # the hang is in flight
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(timeout=10)
    assert still_running(pool + [dog]) == []


def test_the_watchdog_runs_only_while_repls_do():
    async def main():
        async with ReplEnvironment(fake_config()) as env:
            await env.start(AND)
            assert watchdog.watchdog_pid() is not None
        assert watchdog.watchdog_pid() is None

    asyncio.run(main())
