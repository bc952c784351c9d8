"""Searches on a search worker: the worker's environment, and the models its searches
ask. With model actors, each search's requests go straight to its model actor, whose
batcher merges them with every other search it serves, as a local run does; without,
the worker holds the models and merges its own searches' requests."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import ray

from lean_env import Environment
from prover import runtime
from prover.distributed.actors import ActorReady, ModelInfo, Outbox, RemoteEvaluate, RemotePropose, close_batchers
from prover.distributed.errors import ClusterError
from search import (
    BatchingEvaluate,
    BatchingPropose,
    Budget,
    Policy,
    ProofGraph,
    Proposer,
    SchedulerConfig,
    SearchJob,
    SearchResult,
    ValueModel,
    run_search,
)

__all__ = ["SearchSpec", "SearchWorkFactory", "SearchWork"]


@dataclass(frozen=True)
class SearchSpec:
    """What every search of one run shares (sent to the workers once per run)."""

    policy: Policy
    budget: Budget


@dataclass(frozen=True)
class SearchWorkFactory:
    """Builds a search worker's ``SearchWork`` in its process (picklable): the environment,
    and links to the model actor named ``models[index % len(models)]`` (whose models are
    ``proposer_info`` and ``value_info``), or, with no model actors, the worker's own
    proposer and value model."""

    env: Callable[[], Environment]
    proposer: Callable[[], Proposer] | None = None
    value: Callable[[], ValueModel] | None = None
    models: tuple[str, ...] = ()
    proposer_info: ModelInfo | None = None
    value_info: ModelInfo | None = None
    batching: SchedulerConfig = SchedulerConfig()
    call_timeout_s: float = 600.0

    @classmethod
    def linked(
        cls,
        models: tuple[str, ...],
        report: ActorReady | None,
        *,
        env: Callable[[], Environment],
        proposer: Callable[[], Proposer],
        value: Callable[[], ValueModel] | None,
        batching: SchedulerConfig,
        call_timeout_s: float,
    ) -> "SearchWorkFactory":
        """The factory for workers linked to the model actors ``models`` (whose models
        ``report`` names), or holding ``proposer`` and ``value`` themselves when there are none."""
        if not models:
            return cls(env=env, proposer=proposer, value=value, batching=batching, call_timeout_s=call_timeout_s)
        return cls(env=env, models=models, proposer_info=report.proposer, value_info=report.value, batching=batching,
                   call_timeout_s=call_timeout_s)

    def __call__(self, index: int) -> "SearchWork":
        env = self.env()
        if not self.models:
            own = BatchingPropose(self.proposer(), self.batching)
            value = BatchingEvaluate(self.value(), self.batching, own.searches) if self.value is not None else None
            return SearchWork(env, own, value=value, tracker=own)
        server = ray.get_actor(self.models[index % len(self.models)])
        server.forget.remote(index)  # searches a previous process of this worker left running there are gone
        outbox = Outbox(server, timeout_s=self.call_timeout_s)
        propose = RemotePropose(outbox, self.proposer_info)
        value = RemoteEvaluate(outbox, self.value_info) if self.value_info else None
        return SearchWork(env, propose, value=value, tracker=_RemoteTracker(server, index))


class _RemoteTracker:
    """Tells a model actor when a search of worker ``client`` starts and ends."""

    def __init__(self, server: Any, client: int):
        self.server = server
        self.client = client

    def attach(self) -> None:
        self.server.attach.remote(self.client)

    def detach(self) -> None:
        self.server.detach.remote(self.client)


class SearchWork:
    """One worker's searches: each job is ``run_search`` with the job's seed, its model
    requests batched with other searches' (``tracker`` learns when searches start and
    end); the result goes back without its proof graph (it stays here), everything a record
    holds intact."""

    def __init__(self, env: Environment, propose: Any, *, value: Any = None, tracker: Any):
        self.env = env
        self.propose = propose
        self.evaluate = value
        self.tracker = tracker
        self.proposer = ModelInfo(propose.name, propose.kind)
        self.value = ModelInfo(value.name, "value") if value is not None else None

    async def __call__(self, spec: SearchSpec, job: SearchJob) -> SearchResult:
        self.tracker.attach()
        try:
            result = await run_search(job.theorem, env=self.env, proposer=self.propose, policy=spec.policy,
                                      budget=spec.budget, seed=job.seed, value=self.evaluate)
        finally:
            self.tracker.detach()
        fault = getattr(self.propose, "fault", None)  # the model actor's (both links share its outbox)
        if fault is not None and result.status == "error":
            raise ClusterError(fault)
        return dataclasses.replace(result, graph=ProofGraph())

    async def aclose(self) -> None:
        """Close the environment, and the models when this worker holds them."""
        await close_batchers(*(fn for fn in (self.propose, self.evaluate) if isinstance(fn, (BatchingPropose, BatchingEvaluate))))
        await runtime.aclose_resources(self.env)
