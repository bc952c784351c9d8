"""The Python agent API: an environment, a proposer and a search policy under a budget.

Example (runs offline on the built-in propositional sandbox)::

    from prover import Agent, ProverConfig

    with Agent.from_config(ProverConfig()) as agent:
        result = agent.prove("theorem t (p q : Prop) : p ∧ q → q ∧ p := by")
        print(result.status, result.proof)

Every ``proved`` result carries a proof that passed the environment's independent
``verify``. The agent owns its environment and proposer; close it (``with`` or
``async with``) to stop Lean processes.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from contextlib import aclosing
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterable, Mapping

from lean_env import Environment, Theorem
from prover.backends import build_environment, build_proposer, default_header, resolve_env_kind, theorem_from_statement
from prover.config import ProverConfig
from search.budget import Budget
from search.engine import run_search
from search.policies import Policy, make_policy
from search.proposer import Proposer
from search.result import SearchResult
from search.scheduler import Scheduler, SchedulerConfig, SearchJob

__all__ = ["Agent", "ProofResult", "AttemptJob", "attempt_seed"]

ProofResult = SearchResult
"""What ``Agent.prove`` returns: status, verified proof text, proof graph, spent budget, timings."""


def attempt_seed(seed: int, attempt: int) -> int:
    """The seed of repeated attempt ``attempt`` of a run seeded with ``seed`` (attempt 0 keeps ``seed``)."""
    return seed + 1_000_003 * attempt


@dataclass(frozen=True)
class AttemptJob:
    """One search to run in a batch: a theorem, which repeated attempt, and its seed."""

    theorem: Theorem
    attempt: int
    seed: int


class Agent:
    """Proves theorems with one environment, one proposer and one policy.

    ``prove`` is synchronous (it runs on the agent's own event loop); ``aprove`` and
    ``aprove_many`` are for callers already inside asyncio. Use one style per agent.
    """

    def __init__(
        self,
        *,
        env: Environment,
        proposer: Proposer,
        policy: Policy | str = "best-first",
        policy_params: Mapping[str, object] | None = None,
        budget: Budget = Budget(max_expansions=200, max_seconds=300.0),
        seed: int = 0,
        scheduler: SchedulerConfig = SchedulerConfig(),
        header: str = "",
    ):
        self.env = env
        self.proposer = proposer
        self.policy = make_policy(policy, **dict(policy_params or {})) if isinstance(policy, str) else policy
        self.budget = budget
        self.seed = seed
        self.scheduler_config = scheduler
        self.header = header
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_config(cls, config: ProverConfig, *, statement: str | None = None) -> "Agent":
        """Build the environment, proposer and policy that ``config`` names. With
        ``env.kind == "auto"``, ``statement`` decides between the sandbox and Lean."""
        env_kind = resolve_env_kind(config.env, statement)
        policy = make_policy(config.policy.name, **dict(config.policy.params))
        proposer = build_proposer(config.model, env_kind, output=policy.proposer_kind)
        env = build_environment(config.env, env_kind)
        return cls(
            env=env,
            proposer=proposer,
            policy=policy,
            budget=config.budget,
            seed=config.run.seed,
            scheduler=SchedulerConfig(
                max_batch=config.run.max_batch, max_wait_ms=config.run.max_wait_ms, max_concurrent=config.run.concurrency
            ),
            header=default_header(env_kind),
        )

    def theorem(self, statement: Theorem | str) -> Theorem:
        """A ``Theorem`` from statement text (with this agent's default header) or as given."""
        if isinstance(statement, Theorem):
            return statement
        return theorem_from_statement(statement, header=self.header)

    async def aprove(self, theorem: Theorem | str, *, budget: Budget | None = None, seed: int | None = None) -> ProofResult:
        """Search for a proof of one theorem; see ``prove``."""
        return await run_search(
            self.theorem(theorem),
            env=self.env,
            proposer=self.proposer,
            policy=self.policy,
            budget=budget or self.budget,
            seed=self.seed if seed is None else seed,
        )

    def prove(self, theorem: Theorem | str, *, budget: Budget | None = None, seed: int | None = None) -> ProofResult:
        """Search for a proof of ``theorem`` (a ``Theorem`` or statement text ending in ``:= by``)."""
        return self._run(self.aprove(theorem, budget=budget, seed=seed))

    def jobs(self, theorems: Iterable[Theorem], *, attempts: int = 1) -> list[AttemptJob]:
        """Every (theorem, attempt) pair with its seed, attempts of one theorem adjacent."""
        return [
            AttemptJob(theorem=t, attempt=a, seed=attempt_seed(self.seed, a)) for t in theorems for a in range(attempts)
        ]

    async def aprove_many(self, jobs: Iterable[AttemptJob]) -> AsyncIterator[tuple[AttemptJob, ProofResult]]:
        """Run many searches concurrently with batched proposer calls; yield each
        ``(job, result)`` as soon as it finishes (a failing search yields an ``error`` result)."""
        jobs = list(jobs)
        scheduler = Scheduler(
            env=self.env, proposer=self.proposer, policy=self.policy, budget=self.budget, config=self.scheduler_config
        )
        stream = scheduler.stream_jobs(SearchJob(theorem=j.theorem, seed=j.seed) for j in jobs)
        async with aclosing(stream):  # an interrupted caller still cancels the searches in flight
            async for index, result in stream:
                yield jobs[index], result

    def run_jobs(self, jobs: Iterable[AttemptJob], on_result: Callable[[AttemptJob, ProofResult], None]) -> None:
        """Synchronous ``aprove_many``: call ``on_result`` with each finished search, in completion order."""

        async def drive() -> None:
            async with aclosing(self.aprove_many(jobs)) as stream:
                async for job, result in stream:
                    on_result(job, result)

        self._run(drive())

    def prove_many(self, theorems: Iterable[Theorem], *, attempts: int = 1) -> list[ProofResult]:
        """Results of every theorem x attempt, in input order (attempts of a theorem adjacent)."""
        jobs = self.jobs(theorems, attempts=attempts)
        position = {(j.theorem.name, j.attempt): i for i, j in enumerate(jobs)}
        results: list[ProofResult | None] = [None] * len(jobs)

        def keep(job: AttemptJob, result: ProofResult) -> None:
            results[position[(job.theorem.name, job.attempt)]] = result

        self.run_jobs(jobs, keep)
        return results

    def _run(self, coroutine):
        """Run ``coroutine`` on the agent's loop. Ctrl-C cancels the task (as ``asyncio.Runner``
        does) so every search in flight unwinds through its ``finally`` blocks at an await,
        then ``KeyboardInterrupt`` is raised to the caller."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        task = self._loop.create_task(coroutine)
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        handled = threading.current_thread() is threading.main_thread()
        if handled:
            self._loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            return self._loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            if handled:
                self._loop.remove_signal_handler(signal.SIGINT)

    async def aclose(self) -> None:
        """Stop the environment's processes and release the proposer."""
        await self.env.aclose()

    def close(self) -> None:
        self._run(self.aclose())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()
        self._loop = None

    async def __aenter__(self) -> "Agent":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

