"""The agent on a Ray cluster: model actors and search workers started with the resources
``config.ray`` asks for, and an ``Agent`` whose runs go through them.

The driver (the process that calls ``run``) plans the jobs by the one seed rule, keeps
the run directory (manifest, ``results.jsonl``, ``--resume``) exactly as a local run does
and is its only writer; the workers only search. Each search is what ``run_search`` with
the job's seed gives, wherever it runs, so a run on Ray records what a local run records
(timings aside).
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Mapping

import ray

from lean_env import Environment, Theorem
from prover.agent import Agent, Searches
from prover.backends import build_environment, build_proposer, default_header, resolve_env_kind
from prover.config import ProverConfig
from prover.distributed.actors import ActorReady, ModelInfo, ModelServer, WorkerHost, WorkFactory
from prover.distributed.errors import ClusterError
from prover.distributed.pool import WorkerPool, connect, start_actors, stop_actors
from prover.distributed.search import SearchSpec, SearchWorkFactory
from search import Budget, Policy, Proposer, SearchJob, SearchResult, ValueModel, resolve_policy
from search.engine import check_proposer_kind

__all__ = ["ActorPlan", "plan_actors", "RayCluster", "RayAgent"]

_LEAN_KINDS = ("repl", "leandojo")


@dataclass(frozen=True)
class ActorPlan:
    """How many actors of each kind to start, and the Ray options of each."""

    model_actors: int
    model_options: Mapping[str, Any]
    workers: int
    worker_options: Mapping[str, Any]


def _fit(need: Mapping[str, float], have: Mapping[str, float]) -> int | None:
    """How many actors needing ``need`` the resources ``have`` hold (``None``: no limit)."""
    limits = [math.floor(have.get(name, 0.0) / amount + 1e-9) for name, amount in need.items() if amount > 0]
    return min(limits) if limits else None


def _options(cpus: float, gpus: float, resources: Mapping[str, float], restarts: int) -> dict[str, Any]:
    return {"num_cpus": cpus, "num_gpus": gpus, "resources": dict(resources),
            "max_restarts": restarts, "max_task_retries": -1 if restarts else 0}


def plan_actors(config: ProverConfig, env_kind: str, cluster: Mapping[str, float]) -> ActorPlan:
    """The actors ``config.ray`` asks for on a cluster with resources ``cluster`` (Ray's
    ``cluster_resources()``): counts left unset fill the cluster (one model actor per GPU
    for a GPU model, workers for the CPUs left). ``ClusterError`` when they cannot fit."""
    settings = config.ray
    gpus = settings.model_gpus if settings.model_gpus is not None else float(config.model.device.startswith("cuda"))
    model_need = {"CPU": settings.model_cpus, "GPU": gpus, **settings.model_resources}
    models = settings.model_actors
    if models is None:
        models = max(1, _fit(model_need, cluster) or 0) if gpus else 1
    worker_cpus = settings.worker_cpus
    if worker_cpus is None:
        worker_cpus = float(config.env.limits.workers) if env_kind in _LEAN_KINDS else 1.0
    worker_gpus = 0.0 if models else gpus  # without model actors, each worker holds the model
    worker_need = {"CPU": worker_cpus, "GPU": worker_gpus, **settings.worker_resources}
    left = {name: amount - models * model_need.get(name, 0.0) for name, amount in cluster.items()}
    workers = settings.workers if settings.workers is not None else max(1, _fit(worker_need, left) or 1)
    for what, setting, count, need, have in (
        ("model actor", "model_actors", models, model_need, cluster),
        ("search worker", "workers", workers, worker_need, left),
    ):
        fits = _fit(need, have)
        if fits is not None and fits < count:
            asked = {name: amount for name, amount in need.items() if amount}
            free = {name: round(max(have.get(name, 0.0), 0.0), 3) for name in asked}
            raise ClusterError(
                f"cannot place {count} {what}(s) asking for {asked} each: the cluster has {free} for them; "
                f"lower ray.{setting} or what each asks for (docs/ray.md)"
            )
    restarts = settings.max_restarts
    return ActorPlan(
        model_actors=models,
        model_options=_options(settings.model_cpus, gpus, settings.model_resources, restarts),
        workers=workers,
        worker_options=_options(worker_cpus, worker_gpus, settings.worker_resources, restarts),
    )


def _forget(models: list[Any], worker: int) -> None:
    """Tell worker ``worker``'s model actor that its searches are gone (the worker died)."""
    if models:
        models[worker % len(models)].forget.remote(worker)


class RayCluster:
    """Actors on a Ray cluster — model actors holding the proposer, workers holding
    environments — and the streams of work through them (searches, proofs to check)."""

    def __init__(self, *, models: list[Any], pool: WorkerPool, proposer: ModelInfo | None, value: ModelInfo | None, owns_ray: bool):
        self.models = models
        self.pool = pool
        self.proposer = proposer
        self.value = value
        self._owns_ray = owns_ray

    @classmethod
    def start(
        cls,
        config: ProverConfig,
        *,
        env_kind: str,
        work: Callable[[tuple[str, ...], ActorReady | None], WorkFactory],
        proposer: Callable[[], Proposer] | None = None,
        value: Callable[[], ValueModel] | None = None,
        capacity: int,
        what: str = "search worker",
    ) -> "RayCluster":
        """Join or start the cluster ``config.ray`` names and start the planned actors: model
        actors building ``proposer`` and ``value`` (none without a proposer), then workers
        whose work ``work(model actor names, one model actor's report)`` builds, each given
        at most ``capacity`` items at a time. Every callable here is run inside the actors."""
        owns_ray = connect(config.ray)
        models: list[Any] = []
        try:
            if proposer is None:
                config = dataclasses.replace(config, ray=dataclasses.replace(config.ray, model_actors=0))
            plan = plan_actors(config, env_kind, ray.cluster_resources())
            timeout = config.ray.start_timeout_s
            names = tuple(f"prover-model-{uuid.uuid4().hex[:12]}" for _ in range(plan.model_actors))
            models, reports = start_actors(ModelServer, [(proposer, config.scheduler, value)] * len(names), names=names,
                                           options=plan.model_options, what="model actor", timeout_s=timeout)
            factory = work(names, reports[0] if reports else None)
            workers, worker_reports = start_actors(WorkerHost, [(factory, index) for index in range(plan.workers)],
                                                   options=plan.worker_options, what=what, timeout_s=timeout)
        except BaseException:
            for model in models:
                ray.kill(model)
            if owns_ray:
                ray.shutdown()
            raise
        pool = WorkerPool(workers, capacity=capacity, retries=config.ray.max_restarts + 1, what=what,
                          on_lost=partial(_forget, models))
        ready = worker_reports[0]
        return cls(models=models, pool=pool, proposer=ready.proposer, value=ready.value, owns_ray=owns_ray)

    def searches(self, policy: Policy, budget: Budget) -> Searches:
        """Run jobs with ``policy`` and ``budget`` on the workers, yielding each as it finishes."""
        check_proposer_kind(policy, self.proposer)
        spec = SearchSpec(policy, budget)

        def stream(jobs: Iterable[SearchJob]):
            return self.pool.stream(jobs, context=spec, key=lambda job: (job.theorem.name, job.attempt))

        return stream

    async def aclose(self) -> None:
        """Close the workers' environments and the models, end the actors, and stop Ray if
        this cluster started it."""
        try:
            await stop_actors(self.pool.actors)
            await stop_actors(self.models)
        finally:
            if self._owns_ray:
                ray.shutdown()


class RayAgent(Agent):
    """An ``Agent`` whose searches run on a Ray cluster (``prover bench --ray``).

    ``run`` writes the run directory exactly as ``Agent.run`` does, from this process;
    results (``run.results``, ``prove``) come back without their proof graph, which stays
    on the worker, and with everything a record holds. The models live in the actors:
    ``proposer`` and ``value`` here only name them (``ModelInfo``); ``env`` is ``None``.
    """

    keeps_graphs = False

    def __init__(self, cluster: RayCluster, *, config: ProverConfig, header: str = ""):
        super().__init__(env=None, proposer=cluster.proposer, value=cluster.value, config=config,  # type: ignore[arg-type]
                         header=header)
        self.cluster = cluster
        self._owned = (cluster,)
        self._describes_resources = True

    @classmethod
    def from_config(
        cls,
        config: ProverConfig | None = None,
        *,
        statement: str | None = None,
        env: Callable[[], Environment] | None = None,
        proposer: Callable[[], Proposer] | None = None,
        value: Callable[[], ValueModel] | None = None,
    ) -> "RayAgent":
        """Start the actors ``config.ray`` plans on its cluster. ``env``, ``proposer`` and
        ``value`` (a value model, optional) are picklable callables that build them inside
        the actors (default: what ``config`` names, as ``Agent.from_config`` builds it)."""
        config = config or ProverConfig()
        env_kind = resolve_env_kind(config.env, statement)
        policy = resolve_policy(config.policy.name, config.policy.params)
        env = env or partial(build_environment, config.env, env_kind)
        proposer = proposer or partial(build_proposer, config.model, env_kind, output=policy.proposer_kind)
        if value is None and config.model.value:
            from prover.models.value import load_value_model

            value = partial(load_value_model, config.model.value, device=config.model.device)
        work = partial(SearchWorkFactory.linked, env=env, proposer=proposer, value=value, batching=config.scheduler,
                       call_timeout_s=config.ray.call_timeout_s)
        cluster = RayCluster.start(config, env_kind=env_kind, work=work, proposer=proposer, value=value,
                                   capacity=config.scheduler.max_concurrent)
        return cls(cluster, config=config, header=default_header(env_kind))

    def searches(self, policy: Policy, budget: Budget) -> Searches:
        return self.cluster.searches(policy, budget)

    async def _prove(self, theorem: Theorem | str, policy: Policy | str | None, budget: Budget | None, seed: int | None) -> SearchResult:
        job = SearchJob(self.theorem(theorem), 0, self.config.run.seed if seed is None else seed)
        async with aclosing(self.searches(self._policy(policy), budget or self.config.budget)([job])) as stream:
            _, result = await anext(stream)
        return result
