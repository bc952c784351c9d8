"""The Python agent API: an environment and a proposer, and experiments run with them.

Example (runs offline on the built-in propositional sandbox)::

    from prover import Agent, BestFirst, Beam, Budget, load_dataset

    with Agent.from_config() as agent:
        valid = load_dataset("sandbox:valid")
        for policy in (BestFirst(k=8), Beam(width=4, k=8)):
            run = agent.run(valid, policy=policy, budget=Budget(max_expansions=50), attempts=2)
            print(run.policy, len(run.solved), run.pass_at_k(1))

The agent owns resources (environment, proposer); the policy, budget, seed and attempts
are chosen per call. What ``from_config`` builds the agent closes; an environment or
proposer passed in is left open for its owner (close it with ``prover.close``). Every
``proved`` result carries a proof that passed the environment's independent ``verify``.
All calls run on the library's own event loop (``prover.runtime``), so the synchronous
methods work in notebooks and the async ones from any loop.
"""

from __future__ import annotations

import dataclasses
import sys
from contextlib import aclosing
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable

from lean_env import Environment, Theorem
from prover import runtime
from prover.backends import build_environment, build_proposer, default_header, resolve_env_kind, theorem_from_statement
from prover.config import ProverConfig
from prover.data import Dataset
from prover.runs import AttemptRecord, Run, RunError, RunStore, SavedGraph, build_manifest
from search import (
    Budget,
    Policy,
    Proposer,
    Scheduler,
    SearchJob,
    SearchResult,
    ValueModel,
    plan_jobs,
    policy_params,
    resolve_policy,
    run_search,
)

__all__ = ["Agent", "close"]

OnResult = Callable[[AttemptRecord, SearchResult], None]
"""Called with each finished search of a run, in completion order (on the library's loop)."""

Searches = Callable[[Iterable[SearchJob]], AsyncIterator[tuple[SearchJob, SearchResult]]]
"""Runs a batch of search jobs, yielding each ``(job, result)`` as it finishes."""


class Agent:
    """Proves theorems with one environment and one proposer.

    ``value`` (optional) scores states for value-guided policies, batched like the
    proposer. ``config`` supplies the defaults of every call (policy, budget, seed,
    attempts) and the scheduling of concurrent searches; ``header`` is put before
    statements given as text.
    """

    keeps_graphs = True
    """Whether results come back with their proof graphs (what ``save_graphs`` writes)."""

    def __init__(
        self,
        *,
        env: Environment,
        proposer: Proposer,
        value: ValueModel | None = None,
        config: ProverConfig | None = None,
        header: str = "",
    ):
        self.env = env
        self.proposer = proposer
        self.value = value
        self.config = config or ProverConfig()
        self.header = header
        self._owned: tuple[object, ...] = ()
        self._describes_resources = False

    @classmethod
    def from_config(cls, config: ProverConfig | None = None, *, statement: str | None = None) -> "Agent":
        """Build the environment and proposer that ``config`` names (the agent owns and
        closes them). With ``env.kind == "auto"``, ``statement`` decides between the
        sandbox and Lean."""
        config = config or ProverConfig()
        env_kind = resolve_env_kind(config.env, statement)
        policy = resolve_policy(config.policy.name, config.policy.params)
        proposer = build_proposer(config.model, env_kind, output=policy.proposer_kind)
        value = None
        if config.model.value:
            from prover.models.value import load_value_model

            value = load_value_model(config.model.value, device=config.model.device)
        env = build_environment(config.env, env_kind)
        agent = cls(env=env, proposer=proposer, value=value, config=config, header=default_header(env_kind))
        agent._owned = (env, proposer)
        agent._describes_resources = True
        return agent

    # ------------------------------------------------------------------ inputs
    def theorem(self, item: Theorem | str) -> Theorem:
        """A ``Theorem`` from statement text (with this agent's header) or as given."""
        return item if isinstance(item, Theorem) else theorem_from_statement(item, header=self.header)

    def dataset(self, items: Dataset | Iterable[Theorem | str], *, name: str = "theorems") -> Dataset:
        """A ``Dataset`` from a dataset or from theorems and statement texts."""
        if isinstance(items, Dataset):
            return items
        return Dataset(name=name, kind="inline", theorems=tuple(self.theorem(item) for item in items))

    def _policy(self, policy: Policy | str | None) -> Policy:
        if policy is None:
            return resolve_policy(self.config.policy.name, self.config.policy.params)
        return resolve_policy(policy)

    # ------------------------------------------------------------------ proving
    async def _prove(self, theorem: Theorem | str, policy: Policy | str | None, budget: Budget | None, seed: int | None) -> SearchResult:
        return await run_search(
            self.theorem(theorem),
            env=self.env,
            proposer=self.proposer,
            policy=self._policy(policy),
            budget=budget or self.config.budget,
            seed=self.config.run.seed if seed is None else seed,
            value=self.value,
        )

    def prove(
        self, theorem: Theorem | str, *, policy: Policy | str | None = None, budget: Budget | None = None, seed: int | None = None
    ) -> SearchResult:
        """Search for a proof of ``theorem`` (a ``Theorem`` or statement text ending in ``:= by``)."""
        return runtime.run(self._prove(theorem, policy, budget, seed))

    async def aprove(
        self, theorem: Theorem | str, *, policy: Policy | str | None = None, budget: Budget | None = None, seed: int | None = None
    ) -> SearchResult:
        """``prove`` for callers inside asyncio."""
        return await runtime.arun(self._prove(theorem, policy, budget, seed))

    # ------------------------------------------------------------------ runs
    def run(
        self,
        theorems: Dataset | Iterable[Theorem | str],
        *,
        policy: Policy | str | None = None,
        budget: Budget | None = None,
        attempts: int | None = None,
        seed: int | None = None,
        out: Path | str | None = None,
        resume: bool = False,
        rerun_changed: bool = False,
        save_graphs: bool | None = None,
        on_result: OnResult | None = None,
    ) -> Run:
        """Search every theorem ``attempts`` times concurrently, batching proposer calls.

        With ``out`` each record is written to that run directory as soon as its search
        finishes (exactly what ``prover bench`` writes); ``resume`` continues a run there,
        skipping finished (theorem, attempt) pairs, and ``rerun_changed`` proves again the
        theorems whose text changed since (``prover.runs.RunStore`` has the rules), and
        ``save_graphs`` (default ``config.run.save_graphs``) keeps each search's proof graph
        there too. Attempt ``a`` is seeded with ``search.attempt_seed(seed, a)``.
        """
        dataset = self.dataset(theorems)
        return runtime.run(
            self._run(dataset, policy, budget, attempts, seed, out, resume, on_result, rerun_changed=rerun_changed,
                      save_graphs=save_graphs))

    async def arun(
        self,
        theorems: Dataset | Iterable[Theorem | str],
        *,
        policy: Policy | str | None = None,
        budget: Budget | None = None,
        attempts: int | None = None,
        seed: int | None = None,
        out: Path | str | None = None,
        resume: bool = False,
        rerun_changed: bool = False,
        save_graphs: bool | None = None,
        on_result: OnResult | None = None,
    ) -> Run:
        """``run`` for callers inside asyncio."""
        dataset = self.dataset(theorems)
        return await runtime.arun(
            self._run(dataset, policy, budget, attempts, seed, out, resume, on_result, rerun_changed=rerun_changed,
                      save_graphs=save_graphs))

    def describe(self, policy: Policy, budget: Budget, *, attempts: int, seed: int, save_graphs: bool = False) -> dict[str, Any]:
        """The ``config`` a run's manifest records: the resources and the call's settings."""
        described = self.config.to_dict()
        if not self._describes_resources:
            described["env"] = {"kind": getattr(self.env, "name", type(self.env).__name__)}
            described["model"] = {"proposer": getattr(self.proposer, "name", type(self.proposer).__name__)}
        described["value"] = getattr(self.value, "name", None)
        described["policy"] = {"name": policy.name, "params": policy_params(policy)}
        described["budget"] = dataclasses.asdict(budget)
        described["run"] = {"seed": seed, "attempts": attempts, "save_graphs": save_graphs}
        return described

    def searches(self, policy: Policy, budget: Budget) -> Searches:
        """Where a run's searches happen: here, concurrently through the batching
        ``Scheduler`` (``prover.distributed.RayAgent`` spreads them over a cluster)."""
        return Scheduler(
            env=self.env, proposer=self.proposer, policy=policy, budget=budget, config=self.config.scheduler, value=self.value
        ).stream

    async def _run(
        self,
        dataset: Dataset,
        policy: Policy | str | None,
        budget: Budget | None,
        attempts: int | None,
        seed: int | None,
        out: Path | str | None,
        resume: bool,
        on_result: OnResult | None,
        *,
        rerun_changed: bool = False,
        save_graphs: bool | None = None,
    ) -> Run:
        policy = self._policy(policy)
        budget = budget or self.config.budget
        attempts = self.config.run.attempts if attempts is None else attempts
        seed = self.config.run.seed if seed is None else seed
        save_graphs = self.config.run.save_graphs if save_graphs is None else save_graphs
        if save_graphs and not self.keeps_graphs:
            raise RunError(f"{type(self).__name__} results come back without their proof graphs: save graphs from a local run")
        searches = self.searches(policy, budget)
        manifest = build_manifest(
            config=self.describe(policy, budget, attempts=attempts, seed=seed, save_graphs=save_graphs),
            dataset=dataset.describe(), argv=sys.argv,
            theorems=dataset.theorems,
        )
        store = (RunStore(Path(out), resume=resume, rerun_changed=rerun_changed, save_graphs=save_graphs)
                 if out is not None else None)
        records: list[AttemptRecord] = []
        results: list[SearchResult] = []
        if store is not None:
            store.open(manifest)
            manifest = store.manifest
            records.extend(store.records)
        finished = {record.key for record in records}
        jobs = [j for j in plan_jobs(dataset.theorems, attempts=attempts, seed=seed) if (j.theorem.name, j.attempt) not in finished]
        try:
            async with aclosing(searches(jobs)) as stream:
                async for job, result in stream:
                    record = AttemptRecord.from_result(job, result, category=dataset.category(job.theorem))
                    if store is not None:
                        store.append(record, SavedGraph(job.theorem, job.attempt, result.graph))
                    records.append(record)
                    results.append(result)
                    if on_result is not None:
                        on_result(record, result)
        finally:
            if store is not None:
                store.close()
        name = Path(out).name if out is not None else dataset.name
        notices = tuple(store.notices) if store is not None else ()
        return Run(manifest=manifest, records=tuple(records), results=tuple(results), name=name, warnings=notices)

    # ------------------------------------------------------------------ lifetime
    async def aclose(self) -> None:
        """Close what this agent built (nothing when its resources were passed in)."""
        owned, self._owned = self._owned, ()
        await runtime.arun(runtime.aclose_resources(*owned))

    def close(self) -> None:
        """Synchronous ``aclose``."""
        owned, self._owned = self._owned, ()
        runtime.run(runtime.aclose_resources(*owned))

    async def __aenter__(self) -> "Agent":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def close(*resources: object) -> None:
    """Close environments and proposers you created and passed to agents (on the library's loop)."""
    runtime.run(runtime.aclose_resources(*resources))
