"""Bounded work in the sandbox: tactics that multiply goals or formulas end with a resource
limit instead of eating all memory; the async steps run off the event loop when they are
expensive, so a search's deadline stops them; the memo caches stay within their bytes.

The pathological cases hung (or ran out of memory) before the bounds existed, so each test
here also guards against a hang with a thread joined under a generous limit, which is a
liveness check, not a timing assertion."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import tracemalloc

import pytest

from lean_env import EnvLimits, NewState, ProofComplete, StepTimeout, TacticRejected, Theorem
from propsandbox import RESOURCE_LIMIT, SandboxEnvironment, WorkLimits, cache_sizes, clear_caches
from prover import Agent, BestFirst, Budget
from search import Candidate

PQ = Theorem("t", "theorem t (p q : Prop) : q := by")
HAVE = Theorem("t", "theorem t (p : Prop) (h : p) : p := by")
PATHOLOGICAL = [
    pytest.param(PQ, "repeat all_goals by_cases h : p", id="repeat-all_goals-by_cases"),
    pytest.param(PQ, "by_cases h : p" + " <;> by_cases h : p" * 20, id="twenty-then-links"),
    pytest.param(HAVE, "repeat (have h := And.intro h h)", id="repeat-have-doubling"),
]
SLOW = ("by_cases h : p" + " <;> by_cases h : p" * 6 + "\nall_goals (first "
        + " ".join(f"| exact x{i}" for i in range(5000)) + " | skip)")
"""Seconds of work on 128 goals (5,000 failing alternatives each) in little memory, under
limits raised far above the defaults."""
UNBOUNDED = WorkLimits(work=10**9, goals=10**6, rendered=10**9)


def finishes(call, limit_s: float = 120.0):
    """``call()``'s value, failing the test if it has not returned within ``limit_s`` (a hang guard)."""
    box: list = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    worker.start()
    worker.join(limit_s)
    assert box, f"did not return within {limit_s}s"
    return box[0]


@pytest.mark.parametrize("theorem, tactic", PATHOLOGICAL)
def test_goal_and_formula_blowups_end_in_a_resource_limit_within_little_memory(theorem, tactic):
    env = SandboxEnvironment()
    root = env.start_sync(theorem)
    tracemalloc.start()
    try:
        result = finishes(lambda: env.step_sync(root, tactic))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, TacticRejected) and result.reason == RESOURCE_LIMIT, result
    assert result.message.startswith("resource limit:")
    assert peak < 200 << 20, f"peak {peak >> 20} MB"


@pytest.mark.parametrize("theorem, tactic", PATHOLOGICAL)
def test_verify_of_a_blowup_fails_naming_the_limit(theorem, tactic):
    verdict = finishes(lambda: SandboxEnvironment().verify_sync(theorem, tactic))
    assert not verdict.ok and verdict.reason.startswith(f"{RESOURCE_LIMIT}: resource limit:")


def test_the_bounds_leave_ordinary_work_alone():
    env = SandboxEnvironment()
    chain = env.step_sync(env.start_sync(PQ), "by_cases h : p" + " <;> by_cases h : p" * 6)
    assert isinstance(chain, NewState) and len(chain.state.goals) == 128
    closed = env.step_sync(env.start_sync(PQ), "by_cases h : p <;> by_cases h2 : q <;> (try assumption) <;> exfalso")
    assert isinstance(closed, NewState)
    small = SandboxEnvironment(work=WorkLimits(goals=64, hyps=8, formula=4, rendered=100))
    assert small.step_sync(small.start_sync(PQ), "by_cases h : p" + " <;> by_cases h : p" * 6).reason == RESOURCE_LIMIT
    many = "; ".join(f"have h{i} := h" for i in range(9))
    assert small.step_sync(small.start_sync(HAVE), many).message.endswith("more than 8 hypotheses")
    assert small.step_sync(small.start_sync(HAVE), "have h2 := And.intro (And.intro h h) (And.intro h h)").message \
        .endswith("more than 4 connectives and atoms")
    assert small.step_sync(small.start_sync(PQ), "by_cases h : p <;> by_cases h2 : q").message \
        .endswith("more than 100 characters")


def test_each_limit_is_a_positive_integer():
    with pytest.raises(ValueError, match="WorkLimits.goals"):
        WorkLimits(goals=0)


class Offering:
    """A proposer that offers one fixed tactic at every state."""

    name, kind = "offering", "tactic"

    def __init__(self, tactic: str):
        self.tactic = tactic

    def propose(self, queries, k):
        return [[Candidate(self.tactic, -1.0, 4)] for _ in queries]


def test_a_search_offered_the_repeat_blowup_returns_within_its_budget():
    agent = Agent(env=SandboxEnvironment(), proposer=Offering("repeat all_goals by_cases h : p"))
    result = finishes(lambda: agent.prove(PQ, policy=BestFirst(k=1), budget=Budget(max_expansions=10, max_seconds=3.0)))
    assert result.status in ("failed", "budget") and result.spent.env_calls >= 1
    edge = next(iter(result.graph.edges()))
    assert edge.outcome == "rejected" and edge.message.startswith(RESOURCE_LIMIT)


class Recording(SandboxEnvironment):
    """The sandbox, keeping what each synchronous step returned."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.answers: list = []

    def step_sync(self, state, tactic, meter=None):
        answer = super().step_sync(state, tactic, meter)
        self.answers.append(answer)
        return answer


def test_max_seconds_stops_a_long_step_running_in_its_thread():
    env = Recording(work=UNBOUNDED, limits=EnvLimits(step_timeout_s=600))
    agent = Agent(env=env, proposer=Offering(SLOW))
    result = finishes(lambda: agent.prove(PQ, policy=BestFirst(k=1), budget=Budget(max_seconds=0.3)))
    assert result.status == "budget" and result.spent.env_calls == 1
    # The abandoned step's thread was told to stop: it ends at its next look at the clock.
    answer = finishes(lambda: _first(env.answers))
    assert isinstance(answer, StepTimeout)
    asyncio.run(env.aclose())


def _first(items: list):
    while not items:
        threading.Event().wait(0.01)
    return items[0]


def test_a_step_stops_at_its_own_timeout():
    env = SandboxEnvironment(work=UNBOUNDED, limits=EnvLimits(step_timeout_s=0.2))
    result = finishes(lambda: env.step_sync(env.start_sync(PQ), SLOW))
    assert isinstance(result, StepTimeout) and result.seconds == 0.2
    verdict = SandboxEnvironment(work=UNBOUNDED, limits=EnvLimits(verify_timeout_s=0.2)).verify_sync(PQ, SLOW)
    assert not verdict.ok and verdict.reason == "timeout: the check ran past 0.2s"


def test_ordinary_async_steps_stay_on_the_loop_and_expensive_ones_move_to_a_thread():
    async def main(env, tactic):
        root = await env.start(PQ)
        return await asyncio.gather(*(env.step(root, tactic) for _ in range(20)))

    env = SandboxEnvironment()
    answers = asyncio.run(main(env, "by_cases h : p"))
    assert all(isinstance(a, NewState) for a in answers) and env._pool is None
    costly = SandboxEnvironment(inline_work=10)
    answers = asyncio.run(main(costly, "by_cases h : p <;> by_cases h2 : p <;> by_cases h3 : p"))
    assert all(isinstance(a, NewState) and len(a.state.goals) == 8 for a in answers) and costly._pool is not None
    asyncio.run(costly.aclose())


def test_async_verify_of_a_long_proof_runs_in_a_thread_and_agrees_with_verify_sync():
    env = SandboxEnvironment()
    proof = "skip\n" * 2000 + "exact h"
    verdict = asyncio.run(env.verify(HAVE, proof))
    assert verdict.ok and env.verify_sync(HAVE, proof).ok and env._pool is not None
    assert isinstance(env.step_sync(env.start_sync(HAVE), proof), ProofComplete)


def _held_bytes(root: object) -> int:
    """Bytes of every object reachable from ``root`` (classes and modules aside)."""
    seen, stack, total = set(), [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, type(sys))):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def test_the_tactic_parse_cache_stays_within_its_bytes(monkeypatch):
    from propsandbox.tactics import parse_tactics

    assert cache_sizes()["propsandbox.tactics.parse_tactics"][1] == 64 << 20
    clear_caches()
    monkeypatch.setattr(parse_tactics.cache, "max_bytes", 4 << 20)  # the same rule at 1/16 of the size
    env = SandboxEnvironment()
    root = env.start_sync(HAVE)
    for i in range(10):  # distinct 20k-character scripts of one-letter arguments, the densest kind
        assert env.step_sync(root, f"exact f{i} " + "h " * 10_000).message.startswith("unknown identifier")
    used, cap = cache_sizes()["propsandbox.tactics.parse_tactics"]
    held = _held_bytes(parse_tactics.cache._entries)
    assert used <= cap == 4 << 20 and held <= cap, f"{held} bytes held"
    assert 0 < len(parse_tactics.cache) < 10
    clear_caches()


def test_a_byte_bounded_cache_evicts_the_oldest_and_skips_what_is_too_large():
    from propsandbox.cache import ByteBoundedCache

    cache = ByteBoundedCache(100, lambda key, value: len(value))
    for key in "abcde":
        cache.put(key, "x" * 25)
    assert cache.nbytes == 100 and list(cache._entries) == ["b", "c", "d", "e"]
    cache.put("f", "x" * 26)  # more than a quarter of the bound: not kept
    assert cache.get("f") is None and cache.get("b") == "x" * 25 and cache.nbytes == 100
    cache.put("b", "y")  # already there: kept as it was
    assert cache.get("b") == "x" * 25
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
