"""``prover check`` on Ray: proofs sent to workers that each hold an environment (a Lean
REPL pool on their node), each judged there by ``prover.check.check_items`` exactly as a
local check judges it, the records coming back to the driver, the only writer."""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import AsyncIterator, Callable, Iterable

from lean_env import Environment
from lean_env.source import split_imports
from prover import runtime
from prover.backends import build_environment
from prover.check import CheckItem, check_items
from prover.config import ProverConfig
from prover.distributed.actors import ActorReady
from prover.distributed.agent import RayCluster
from prover.runs import CheckRecord

__all__ = ["CheckWorkFactory", "CheckWork", "RayChecker"]


@dataclass(frozen=True)
class CheckWorkFactory:
    """Builds a check worker's ``CheckWork`` in its process (picklable)."""

    env: Callable[[], Environment]

    def __call__(self, index: int) -> "CheckWork":
        return CheckWork(self.env())

    @classmethod
    def linked(cls, models: tuple[str, ...], report: ActorReady | None, *, env: Callable[[], Environment]) -> "CheckWorkFactory":
        """The factory for ``RayCluster.start`` (checking needs no model actor)."""
        return cls(env)


class CheckWork:
    """One worker's checks: each item's record is what ``check_items`` gives locally."""

    def __init__(self, env: Environment):
        self.env = env

    async def __call__(self, context: None, item: CheckItem) -> CheckRecord:
        async with aclosing(check_items(self.env, [item], concurrency=1)) as records:
            return await anext(records)

    async def aclose(self) -> None:
        """Close the environment (its REPL processes)."""
        await runtime.aclose_resources(self.env)


class RayChecker:
    """Check workers on a Ray cluster, as ``prover check`` uses an environment: ``name``,
    ``async with``, and ``check(items)`` streaming a record per item as each is decided."""

    def __init__(self, cluster: RayCluster, name: str):
        self.cluster = cluster
        self.name = name

    @classmethod
    def start(cls, config: ProverConfig, *, env_kind: str) -> "RayChecker":
        """Join or start the cluster ``config.ray`` names and start its check workers, each
        verifying up to twice ``env.limits.workers`` proofs at once, as a local check does."""
        env = partial(build_environment, config.env, env_kind)
        cluster = RayCluster.start(config, env_kind=env_kind, work=partial(CheckWorkFactory.linked, env=env),
                                   capacity=2 * config.env.limits.workers, what="check worker")
        return cls(cluster, f"{env_kind} on {len(cluster.pool.actors)} Ray workers")

    async def check(self, items: Iterable[CheckItem]) -> AsyncIterator[CheckRecord]:
        """A record for every item, in the order they are decided. Items sharing imports and
        header are sent together, so each worker's REPL pool reuses what it imported."""
        ordered = sorted(items, key=lambda item: (split_imports(item.theorem.header)[0], item.theorem.header)
                         if item.theorem is not None else ("", ""))
        async with aclosing(self.cluster.pool.stream(ordered, context=None, key=lambda item: item.key)) as stream:
            async for _, record in stream:
                yield record

    async def __aenter__(self) -> "RayChecker":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cluster.aclose()
