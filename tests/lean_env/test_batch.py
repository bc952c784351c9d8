"""``verify_batch``: bounded concurrency, header order, per-job statement failures, faults."""

from __future__ import annotations

import asyncio

import pytest

from lean_env import EnvironmentBase, EnvironmentFault, StatementError, Theorem, Verdict
from lean_env.batch import ProofJob, verify_batch


class CountingEnv(EnvironmentBase):
    """Verifies after a short sleep, counting how many checks overlap."""

    name = "counting"

    def __init__(self) -> None:
        self.running = self.peak = 0
        self.order: list[str] = []

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        self.order.append(theorem.header)
        if "Missing" in theorem.header:
            raise StatementError("header: unknown module prefix 'Missing'", 1, 8)
        if "broken" in theorem.header:
            raise EnvironmentFault("workers failed to start 3 times in a row")
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return Verdict(theorem=theorem.name, proof=proof, ok=proof == "good", checker=self.name)


def _jobs(headers: list[str]) -> list[ProofJob]:
    return [ProofJob(i, Theorem(f"t{i}", f"theorem t{i} : True := by", header=h), "good" if i % 2 else "bad")
            for i, h in enumerate(headers)]


async def _collect(env, jobs, concurrency):
    return [(job.key, verdict) async for job, verdict in verify_batch(env, jobs, concurrency=concurrency)]


def test_every_job_once_within_the_concurrency_and_grouped_by_imports():
    env = CountingEnv()
    headers = ["import B\nopen X\n", "import A\n", "import B\n", "import A\nopen Y\n"] * 5
    results = asyncio.run(_collect(env, _jobs(headers), concurrency=3))
    assert sorted(key for key, _ in results) == list(range(20))
    assert {key: v.ok for key, v in results} == {i: bool(i % 2) for i in range(20)}
    assert env.peak == 3
    imports = [h.split("\n")[0] for h in env.order]
    assert imports == sorted(imports)  # each header's imports taken together, so a pool imports them once


def test_a_header_that_does_not_elaborate_fails_its_own_jobs_only():
    results = dict(asyncio.run(_collect(CountingEnv(), _jobs(["import Missing\n", "import A\n"]), concurrency=2)))
    assert results[0].failure == "statement" and "Missing" in results[0].reason and not results[0].ok
    assert results[1].ok


def test_a_fault_of_the_environment_stops_the_batch():
    with pytest.raises(EnvironmentFault):
        asyncio.run(_collect(CountingEnv(), _jobs(["import A\n"] * 4 + ["import broken\n"]), concurrency=2))


def test_closing_early_cancels_the_checks_in_flight():
    env = CountingEnv()

    async def first_only():
        stream = verify_batch(env, _jobs(["import A\n"] * 10), concurrency=4)
        async for item in stream:
            await stream.aclose()
            return item

    assert asyncio.run(first_only()) is not None
    assert env.running == 0 and len(env.order) == 4
