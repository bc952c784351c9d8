"""The driver's side of the cluster: joining it, starting actors with the resources they
ask for (bounded in time, one line when they cannot start), and a stream of work items
through worker actors that survives workers dying.

``WorkerPool.stream`` runs any "item -> output" work: search jobs for ``prover bench``,
and any other batch whose workers are built by a ``WorkFactory`` (``prover check``'s
proofs to verify, for instance).
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter, deque
from typing import Any, AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

import ray
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError

from prover.config import RayConfig
from prover.distributed.actors import ActorReady
from prover.distributed.errors import ClusterError

__all__ = ["connect", "start_actors", "stop_actors", "WorkerPool"]

_T = TypeVar("_T")
_CONNECT_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 30.0


def connect(config: RayConfig) -> bool:
    """Join or start the cluster ``config.address`` names; ``True`` when this call started
    Ray (the caller then stops it). A process already connected keeps its connection."""
    if ray.is_initialized():
        return False
    address = config.address
    if address not in (None, "local", "auto"):
        _check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False)
    except (ConnectionError, ValueError) as exc:
        where = f"at {address}" if address else "(RAY_ADDRESS, this machine's cluster, or a new local one)"
        raise ClusterError(f"cannot join a Ray cluster {where}: {exc}") from None
    return True


def _check_reachable(address: str) -> None:
    """Refuse at once an address nothing listens on (Ray itself retries for minutes)."""
    host, _, port = address.rpartition("://")[2].rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"Ray address {address!r} is not HOST:PORT, 'auto' or 'local'")
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ClusterError(f"no Ray cluster answers at {address}: {exc.strerror or exc}") from None


def _demand(options: Mapping[str, Any]) -> dict[str, float]:
    demand = {"CPU": options.get("num_cpus", 0), "GPU": options.get("num_gpus", 0), **options.get("resources", {})}
    return {name: amount for name, amount in demand.items() if amount}


def start_actors(
    cls: type,
    arguments: Sequence[tuple],
    *,
    options: Mapping[str, Any],
    what: str,
    timeout_s: float,
    names: Sequence[str | None] | None = None,
) -> tuple[list[Any], list[ActorReady]]:
    """Start one actor of ``cls`` per argument tuple with Ray ``options`` (and ``names``, by
    which other actors find them: handles passed as arguments would not survive restarts)
    and wait at most ``timeout_s`` until each reports ready. ``ClusterError`` names what
    could not be placed or the node where an actor could not start; nothing is left
    running on failure."""
    if not arguments:
        return [], []
    remote = ray.remote(cls)
    names = names or [None] * len(arguments)
    actors = [remote.options(**options, name=name).remote(*args) for args, name in zip(arguments, names)]
    refs = [actor.ready.remote() for actor in actors]
    try:
        _, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        if waiting:
            raise ClusterError(
                f"{len(waiting)} of {len(actors)} {what}s did not start within {timeout_s:g}s: each asks for "
                f"{_demand(options)}, the cluster has {ray.cluster_resources()} in all and {ray.available_resources()} free"
            )
        try:
            reports: list[ActorReady] = ray.get(refs)
        except RayActorError as exc:
            raise ClusterError(f"a {what} died while starting: {str(exc).strip().splitlines()[0]}") from None
        for index, report in enumerate(reports):
            if report.problem is not None:
                raise ClusterError(f"{what} {index} on node {report.node} cannot start: {report.problem}")
    except BaseException:
        for actor in actors:
            ray.kill(actor)
        raise
    return actors, reports


async def stop_actors(actors: Iterable[Any], *, timeout_s: float = _STOP_TIMEOUT_S) -> None:
    """Ask each actor to close its resources (at most ``timeout_s``), then end it."""
    actors = list(actors)
    closing = [asyncio.wrap_future(actor.aclose.remote().future()) for actor in actors]
    try:
        await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), timeout_s)
    except TimeoutError:
        pass  # an actor that does not close in time is ended all the same
    finally:
        for actor in actors:
            ray.kill(actor)


class WorkerPool:
    """Worker actors (``actors.WorkerHost``) and a stream of items through them.

    Each worker holds at most ``capacity`` items in flight; the next item goes to whichever
    worker frees a slot first. Ray restarts a worker whose process died and retries its
    items in flight (the actors' ``max_restarts`` / ``max_task_retries``); an item whose
    worker is gone for good goes to another worker, at most ``retries`` times, and
    ``on_lost`` hears the lost worker's index. Each item is yielded once, by ``key``,
    whatever retries happened.
    """

    def __init__(
        self,
        actors: Sequence[Any],
        *,
        capacity: int,
        retries: int,
        what: str = "worker",
        on_lost: Callable[[int], None] | None = None,
    ):
        self.actors = list(actors)
        self.capacity = capacity
        self.retries = retries
        self.what = what
        self.on_lost = on_lost

    async def stream(
        self, items: Iterable[_T], *, context: Any, key: Callable[[_T], Hashable]
    ) -> AsyncIterator[tuple[_T, Any]]:
        """Yield ``(item, output)`` as each item finishes. ``context`` (what every item
        shares) is sent once. Closing the iterator early cancels the items in flight."""
        shared = ray.put(context)
        queue = deque(items)
        load = {index: 0 for index in range(len(self.actors))}
        flight: dict[asyncio.Future, tuple[_T, int, Any]] = {}
        order: dict[asyncio.Future, int] = {}
        tries: Counter = Counter()
        seen: set[Hashable] = set()
        try:
            while queue or flight:
                while queue and (free := [index for index in load if load[index] < self.capacity]):
                    index = min(free, key=load.__getitem__)
                    item = queue.popleft()
                    ref = self.actors[index].run.remote(shared, item)
                    future = asyncio.wrap_future(ref.future())
                    flight[future], order[future] = (item, index, ref), len(order)
                    load[index] += 1
                finished, _ = await asyncio.wait(flight, return_when=asyncio.FIRST_COMPLETED)
                for future in sorted(finished, key=order.__getitem__):
                    item, index, _ = flight.pop(future)
                    if index in load:
                        load[index] -= 1
                    try:
                        output = future.result()
                    except RayActorError as exc:
                        self._lost(item, index, exc, load, tries, key)
                        queue.appendleft(item)
                        continue
                    except RayTaskError as exc:
                        cause = exc.cause if isinstance(exc.cause, Exception) else exc
                        message = str(cause).strip().splitlines()
                        raise ClusterError(f"{self.what} {index} failed: {message[0] if message else type(cause).__name__}; "
                                           "records written so far are kept: continue with --resume") from None
                    if key(item) not in seen:
                        seen.add(key(item))
                        yield item, output
        finally:
            for future, (_, _, ref) in flight.items():
                future.cancel()
                ray.cancel(ref)

    def _lost(self, item: Any, index: int, exc: RayActorError, load: dict, tries: Counter, key: Callable) -> None:
        """Bookkeeping for an item whose worker is gone: raise when it cannot be retried."""
        if isinstance(exc, ActorDiedError) and load.pop(index, None) is not None and self.on_lost is not None:
            self.on_lost(index)
        tries[key(item)] += 1
        if not load:
            raise ClusterError(f"every {self.what} died (last: {str(exc).strip().splitlines()[0]}); "
                               "records written so far are kept: continue with --resume")
        if tries[key(item)] > self.retries:
            raise ClusterError(f"{key(item)} was in flight on {tries[key(item)]} {self.what}s that died; "
                               "records written so far are kept: continue with --resume")
