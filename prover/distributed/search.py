"""Searches on a search worker: the worker's environment, and models that are either
links to a model actor or the worker's own; the worker's searches share one
``BatchingPropose`` (and ``BatchingEvaluate``), so a model actor receives one merged
batch per worker at a time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import ray

from lean_env import Environment
from prover import runtime
from prover.distributed.actors import ModelInfo, RemoteProposer, RemoteValue
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

    def __call__(self, index: int) -> "SearchWork":
        env = self.env()
        if not self.models:
            value = self.value() if self.value is not None else None
            return SearchWork(env, self.proposer(), self.batching, value=value)
        server = ray.get_actor(self.models[index % len(self.models)])
        proposer = RemoteProposer(server, self.proposer_info, timeout_s=self.call_timeout_s)
        value = RemoteValue(server, self.value_info, timeout_s=self.call_timeout_s) if self.value_info else None
        return SearchWork(env, proposer, self.batching, value=value, server=server, client=index)


class SearchWork:
    """One worker's searches: each job is ``run_search`` with the job's seed, its model
    requests merged with the worker's other searches; the result goes back without its
    proof graph (it stays here), everything a record holds intact."""

    def __init__(
        self,
        env: Environment,
        proposer: Proposer,
        batching: SchedulerConfig,
        *,
        value: ValueModel | None = None,
        server: Any = None,
        client: int = 0,
    ):
        self.env = env
        self.batcher = BatchingPropose(proposer, batching)
        self.evaluator = BatchingEvaluate(value, batching, self.batcher.searches) if value is not None else None
        self.proposer = ModelInfo(proposer.name, proposer.kind)
        self.value = ModelInfo(value.name, "value") if value is not None else None
        self.server = server
        self.client = client
        self.running = 0

    async def __call__(self, spec: SearchSpec, job: SearchJob) -> SearchResult:
        self._attach()
        try:
            result = await run_search(job.theorem, env=self.env, proposer=self.batcher, policy=spec.policy,
                                      budget=spec.budget, seed=job.seed, value=self.evaluator)
        finally:
            self._detach()
        faults = [model.fault for model in self._models() if getattr(model, "fault", None)]
        if faults and result.status == "error":
            raise ClusterError(faults[0])
        return dataclasses.replace(result, graph=ProofGraph())

    def _models(self) -> list[Any]:
        return [self.batcher.proposer] + ([self.evaluator.model] if self.evaluator is not None else [])

    def _attach(self) -> None:
        self.batcher.attach()
        self.running += 1
        if self.running == 1 and self.server is not None:
            self.server.attach.remote(self.client)

    def _detach(self) -> None:
        self.batcher.detach()
        self.running -= 1
        if self.running == 0 and self.server is not None:
            self.server.detach.remote(self.client)

    async def aclose(self) -> None:
        """Stop batching; close the environment and the models of the worker's own."""
        await self.batcher.aclose()
        if self.evaluator is not None:
            await self.evaluator.aclose()
        own = self._models() if self.server is None else []
        await runtime.aclose_resources(self.env, *own)
