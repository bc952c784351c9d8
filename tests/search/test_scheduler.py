"""Scheduler: batching across searches, isolation of failures, streaming, determinism."""

from __future__ import annotations

import asyncio

from search import Budget, Scheduler, SchedulerConfig, make_policy, run_search
from tests.search.fakes import (
    CRASH,
    VOCAB,
    WORLD,
    RandomProposer,
    RecordingProposer,
    ScriptedEnv,
    TableProposer,
    run,
    structure,
    theorem,
)

THEOREMS = [theorem(f"t{i}") for i in range(8)]
POLICY = make_policy("best-first", k=len(VOCAB))


def schedule(theorems, *, proposer, env=None, config=SchedulerConfig(max_batch=8, max_wait_ms=50), seed=0):
    scheduler = Scheduler(env=env or ScriptedEnv(WORLD), proposer=proposer, policy=POLICY, config=config, seed=seed)
    return run(scheduler.run(theorems)), scheduler


def test_queries_of_concurrent_searches_share_batches():
    proposer = RecordingProposer(RandomProposer(VOCAB), seconds=0.005)
    results, scheduler = schedule(THEOREMS, proposer=proposer)
    assert all(r.status == "proved" for r in results)
    assert proposer.sizes[0] == 8  # every search's root query went in one call
    assert max(proposer.sizes) <= 8
    assert list(scheduler.stats().sizes) == proposer.sizes
    assert scheduler.stats().queries == sum(r.spent.expansions for r in results)
    assert scheduler.stats().mean_size > 4


def test_max_batch_and_max_concurrent_are_respected():
    proposer = RecordingProposer(RandomProposer(VOCAB))
    results, _ = schedule(THEOREMS, proposer=proposer, config=SchedulerConfig(max_batch=3, max_concurrent=5))
    assert all(r.status == "proved" for r in results)
    assert max(proposer.sizes) == 3


def test_failing_searches_do_not_lose_other_results():
    proposer = RecordingProposer(RandomProposer(VOCAB), fail_for=frozenset({"t2"}))
    env = ScriptedEnv(WORLD, fail_start=frozenset({"t5"}))
    results, _ = schedule(THEOREMS, proposer=proposer, env=env)
    assert [r.theorem for r in results] == [t.name for t in THEOREMS]
    by_name = {r.theorem: r for r in results}
    assert by_name["t2"].status == "error" and "model failure on ['t2']" in by_name["t2"].error
    assert by_name["t5"].status == "error" and "cannot start t5" in by_name["t5"].error
    assert all(r.status == "proved" for n, r in by_name.items() if n not in ("t2", "t5"))


def test_results_stream_as_each_search_finishes_and_nobody_waits_on_a_stalled_search():
    """The slow search's first step blocks until the fast result has been streamed: this
    only completes if a waiting query is flushed after ``max_wait_ms`` without the stalled
    search joining the batch, and results are yielded as they finish."""
    fast_done = asyncio.Event()
    world = {**WORLD, "S": {"wait": "root"}}
    env = ScriptedEnv(world, start={"slow": "S", "fast": "root"}, gates={"S": fast_done})
    moves = {g: [(t, -0.1) for t, target in m.items() if target != CRASH] for g, m in WORLD.items()}
    proposer = TableProposer({"S": [("wait", -0.1)], **moves})
    scheduler = Scheduler(env=env, proposer=proposer, policy=POLICY, config=SchedulerConfig(max_wait_ms=5))

    async def collect():
        seen = []
        async for result in scheduler.stream([theorem("slow"), theorem("fast")]):
            seen.append((result.theorem, result.status))
            fast_done.set()
        return seen

    assert run(asyncio.wait_for(collect(), 10)) == [("fast", "proved"), ("slow", "proved")]


def test_callback_sees_every_result():
    seen = []
    scheduler = Scheduler(env=ScriptedEnv(WORLD), proposer=RandomProposer(VOCAB), policy=POLICY)
    results = run(scheduler.run(THEOREMS[:3], on_result=seen.append))
    assert sorted(r.theorem for r in seen) == ["t0", "t1", "t2"] and len(results) == 3


def test_scheduled_search_equals_the_search_run_alone():
    proposer = RandomProposer(VOCAB)
    for name, params in [("best-first", {"k": 5}), ("mcts", {"k": 5}), ("rollouts", {"n": 20, "concurrent": 3})]:
        policy = make_policy(name, **params)
        scheduler = Scheduler(env=ScriptedEnv(WORLD), proposer=proposer, policy=policy, seed=7)
        together = run(scheduler.run(THEOREMS))
        for result in together:
            alone = run(
                run_search(theorem(result.theorem), env=ScriptedEnv(WORLD), proposer=proposer, policy=policy, seed=7)
            )
            assert structure(alone.graph) == structure(result.graph)
            assert (alone.status, alone.proof, alone.spent.expansions) == (
                result.status,
                result.proof,
                result.spent.expansions,
            )


def test_wall_clock_budget_inside_the_scheduler():
    env = ScriptedEnv(WORLD, delay=0.02)
    scheduler = Scheduler(
        env=env, proposer=RecordingProposer(RandomProposer(VOCAB), seconds=0.02), policy=POLICY, budget=Budget(max_seconds=0.03)
    )
    results = run(asyncio.wait_for(scheduler.run(THEOREMS), 5))
    assert {r.status for r in results} == {"budget"}
