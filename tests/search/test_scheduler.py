"""Scheduler: batching across searches, isolation of failures, streaming, determinism."""

from __future__ import annotations

import asyncio

from search import BestFirst, Budget, Scheduler, SchedulerConfig, plan_jobs, resolve_policy, run_search
from search.testing import CRASH, RandomProposer, RecordingProposer, ScriptedEnv, TableProposer, VOCAB, WORLD, scripted_theorem, structure

THEOREMS = [scripted_theorem(f"t{i}") for i in range(8)]
POLICY = BestFirst(k=len(VOCAB))


def schedule(theorems, *, proposer, env=None, config=SchedulerConfig(max_batch=8, max_wait_ms=50), seed=0):
    scheduler = Scheduler(env=env or ScriptedEnv(WORLD), proposer=proposer, policy=POLICY, config=config)
    return asyncio.run(scheduler.run(plan_jobs(theorems, seed=seed))), scheduler


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
        async for _, result in scheduler.stream(plan_jobs([scripted_theorem("slow"), scripted_theorem("fast")])):
            seen.append((result.theorem, result.status))
            fast_done.set()
        return seen

    assert asyncio.run(asyncio.wait_for(collect(), 10)) == [("fast", "proved"), ("slow", "proved")]


def test_stream_pairs_each_job_with_its_result_and_attempts_have_their_own_seeds():
    scheduler = Scheduler(env=ScriptedEnv(WORLD), proposer=RandomProposer(VOCAB), policy=POLICY)
    jobs = plan_jobs(THEOREMS[:3], attempts=2, seed=5)
    assert [(j.theorem.name, j.attempt) for j in jobs] == [(f"t{i}", a) for i in range(3) for a in range(2)]
    assert jobs[0].seed == 5 and len({j.seed for j in jobs}) == 2

    async def collect():
        return [(job, result) async for job, result in scheduler.stream(jobs)]

    pairs = asyncio.run(collect())
    assert sorted((j.theorem.name, j.attempt) for j, _ in pairs) == sorted((j.theorem.name, j.attempt) for j in jobs)
    assert all(job.theorem.name == result.theorem for job, result in pairs)


def test_scheduled_search_equals_the_search_run_alone():
    proposer = RandomProposer(VOCAB)
    for name, params in [("best-first", {"k": 5}), ("mcts", {"k": 5}), ("rollouts", {"n": 20, "concurrent": 3})]:
        policy = resolve_policy(name, params)
        scheduler = Scheduler(env=ScriptedEnv(WORLD), proposer=proposer, policy=policy)
        together = asyncio.run(scheduler.run(plan_jobs(THEOREMS, seed=7)))
        for result in together:
            alone = asyncio.run(
                run_search(scripted_theorem(result.theorem), env=ScriptedEnv(WORLD), proposer=proposer, policy=policy, seed=7)
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
    results = asyncio.run(asyncio.wait_for(scheduler.run(plan_jobs(THEOREMS)), 5))
    assert {r.status for r in results} == {"budget"}


class CountingValue:
    """A value model recording each call's batch size (all states look equally good)."""

    name = "counting"

    def __init__(self):
        self.sizes = []

    def evaluate(self, states):
        self.sizes.append(len(states))
        return [0.5] * len(states)


def test_value_model_calls_of_concurrent_searches_share_batches_and_are_counted():
    value = CountingValue()
    scheduler = Scheduler(env=ScriptedEnv(WORLD), proposer=RandomProposer(VOCAB), policy=POLICY, value=value,
                          config=SchedulerConfig(max_batch=64, max_wait_ms=50))
    results = asyncio.run(scheduler.run(plan_jobs(THEOREMS)))
    assert all(r.status == "proved" for r in results)
    assert max(value.sizes) > len(VOCAB)  # states of several searches went in one call
    assert sum(value.sizes) == sum(r.spent.evaluations for r in results) > 0
    alone = asyncio.run(run_search(THEOREMS[0], env=ScriptedEnv(WORLD), proposer=RandomProposer(VOCAB), policy=POLICY,
                                   value=CountingValue()))
    assert (alone.status, alone.proof) == (results[0].status, results[0].proof)
