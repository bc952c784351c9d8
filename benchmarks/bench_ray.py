"""Ray benchmark: theorems per second of one run, local single-process versus spread over
a local Ray instance, and what Ray adds per model call, per job and per theorem.

(a) Throughput. The sandbox (real propositional theorems, ``--dataset``) with the
model-free baseline proposer made to cost a fixed ``--call-ms`` per call whatever the
batch size (a GPU forward pass), as in ``bench_search.py``. The local run is
``Agent.run`` (one process, the batching ``Scheduler``, ``--concurrency`` searches at
once). Each Ray run is ``RayAgent.run`` on the same theorems with M model actors (each
pays the fixed cost per merged batch) and W search workers sharing the same total
concurrency (``--concurrency / W`` searches each); actors ask for no CPU so every shape
fits this machine. CPU s is the CPU time used during the run by this process (local) or
by this process and every process under it, the local Ray instance's included (Ray): what
a run costs in work, whatever the machine's load. The configurations are interleaved within each repeat (so a change in
the machine's load hits all of them), medians and best shown, with the model calls of the last repeat
(all model actors together) and their mean batch; Ray's start and the actors' start are
timed apart from the runs. Every Ray run is checked to record what the
local run records (timings aside). Overhead per theorem = (Ray 1x1 - local) / theorems,
in wall time and in CPU time, from the medians.

(b) Components, with nothing else to do: the round trip of one model call through a model
actor (8 queries, the proposer answering at once) minus the same call made locally, and
of one job through the driver's ``WorkerPool`` to a worker and back (a no-op work), one
at a time and 32 in flight.

Run: ``.venv/bin/python benchmarks/bench_ray.py`` (add ``--address HOST:PORT`` to use a
running cluster instead of starting a local instance).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from functools import partial
from typing import Any, Sequence

import psutil
import ray

from lean_env import ProofState, Theorem
from prover import Agent, ProverConfig, load_dataset, override, runtime
from prover.baseline import BaselineProposer
from prover.distributed import ModelServer, RayAgent, WorkerHost, WorkerPool, start_actors, stop_actors
from propsandbox import SandboxEnvironment
from search import BatchStats, Candidate, Query, SchedulerConfig


class FixedCostBaseline:
    """The baseline proposer, costing ``call_seconds`` per call whatever the batch size."""

    name = "baseline-fixed-cost"
    kind = "tactic"

    def __init__(self, call_seconds: float):
        self.call_seconds = call_seconds
        self.inner = BaselineProposer()

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        if self.call_seconds:
            time.sleep(self.call_seconds)
        return self.inner.propose(queries, k)


class CountingFixedCost(FixedCostBaseline):
    """``FixedCostBaseline`` keeping the size of each call (the local run's batches)."""

    def __init__(self, call_seconds: float):
        super().__init__(call_seconds)
        self.sizes: list[int] = []

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        self.sizes.append(len(queries))
        return super().propose(queries, k)


class Echo:
    """A work that does nothing: the job's round trip is all that is measured."""

    def __init__(self, index: int):
        self.index = index

    async def __call__(self, context: Any, item: Any) -> Any:
        return item

    async def aclose(self) -> None:
        pass


def comparable(records) -> list[tuple]:
    rows = []
    for record in records:
        spent = {key: value for key, value in record.spent.items() if key != "seconds"}
        rows.append((record.key, dataclasses.replace(record, timings={}, spent=spent)))
    return sorted(rows, key=lambda row: row[0])


def cpu_times(*, children: bool) -> dict[tuple[int, float], float]:
    """CPU seconds (user + system) so far of this process and, with ``children``, of every
    process under it (the local Ray instance's), by (pid, start time)."""
    me = psutil.Process()
    times = {}
    for process in [me, *(me.children(recursive=True) if children else [])]:
        try:
            used = process.cpu_times()
            times[(process.pid, process.create_time())] = used.user + used.system
        except psutil.NoSuchProcess:
            continue
    return times


def cpu_used(before: dict[tuple[int, float], float], *, children: bool) -> float:
    """CPU seconds used since ``before`` by the processes alive now (new ones in full)."""
    return sum(used - before.get(key, 0.0) for key, used in cpu_times(children=children).items())


@dataclasses.dataclass
class Timed:
    """One run: wall and CPU seconds, its records, the model calls' sizes, and the actors' start."""

    wall: float
    cpu: float
    records: list
    batches: BatchStats
    ready: float = 0.0


def timed_local(data, config: ProverConfig, call_s: float) -> Timed:
    proposer = CountingFixedCost(call_s)
    with Agent(env=SandboxEnvironment(), proposer=proposer, config=config) as agent:
        started, cpu = time.perf_counter(), cpu_times(children=False)
        run = agent.run(data)
        wall = time.perf_counter() - started
        return Timed(wall, cpu_used(cpu, children=False), comparable(run.records), BatchStats(tuple(proposer.sizes)))


def timed_ray(data, config: ProverConfig, call_s: float) -> Timed:
    started = time.perf_counter()
    with RayAgent.from_config(config, proposer=partial(FixedCostBaseline, call_s)) as agent:
        ready = time.perf_counter() - started
        started, cpu = time.perf_counter(), cpu_times(children=True)
        run = agent.run(data)
        wall, cpu = time.perf_counter() - started, cpu_used(cpu, children=True)
        sizes = [size for model in agent.cluster.models for size in ray.get(model.stats.remote()).sizes]
        return Timed(wall, cpu, comparable(run.records), BatchStats(tuple(sizes)), ready)


def per_call_ms(calls: int) -> tuple[float, float]:
    """Milliseconds per model call through a model actor, and the same call made locally."""
    theorem = Theorem("t", "theorem t (p q : Prop) : p ∧ q → q ∧ p := by")
    queries = [Query(theorem, ProofState(("p q : Prop\n⊢ p ∧ q → q ∧ p",)), (), seed) for seed in range(8)]
    (model,), _ = start_actors(ModelServer, [(partial(FixedCostBaseline, 0.0), SchedulerConfig())], names=["bench-model"],
                               options={"num_cpus": 0}, what="model actor", timeout_s=300)
    try:
        ray.get(model.propose.remote(queries, 8))
        started = time.perf_counter()
        for _ in range(calls):
            ray.get(model.propose.remote(queries, 8))
        remote = (time.perf_counter() - started) / calls
    finally:
        runtime.run(stop_actors([model]))
    local_proposer = FixedCostBaseline(0.0)
    started = time.perf_counter()
    for _ in range(calls):
        local_proposer.propose(queries, 8)
    return remote * 1000, (time.perf_counter() - started) / calls * 1000


def per_job_ms(jobs: int) -> tuple[float, float]:
    """Milliseconds per job through the pool and a worker and back, one at a time and 32 in flight."""
    (worker,), _ = start_actors(WorkerHost, [(Echo, 0)], options={"num_cpus": 0}, what="worker", timeout_s=300)
    timings = []
    try:
        for capacity in (1, 32):
            pool = WorkerPool([worker], capacity=capacity, retries=1)

            async def drain() -> None:
                async for _ in pool.stream(range(jobs), context=None, key=lambda item: item):
                    pass

            runtime.run(drain())
            started = time.perf_counter()
            runtime.run(drain())
            timings.append((time.perf_counter() - started) / jobs * 1000)
    finally:
        runtime.run(stop_actors([worker]))
    return timings[0], timings[1]


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="sandbox:valid", help="theorems to search")
    parser.add_argument("--call-ms", type=float, default=20.0, help="fixed cost of one proposer call")
    parser.add_argument("--concurrency", type=int, default=32, help="searches at once, in all")
    parser.add_argument("--expansions", type=int, default=30, help="best-first budget per search")
    parser.add_argument("--shapes", default="1x1,1x2,1x4,2x2,4x4", help="model actors x search workers, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration (median and best shown)")
    parser.add_argument("--address", default="local", help="Ray address ('local' starts an instance here)")
    args = parser.parse_args()

    data = load_dataset(args.dataset)
    n = len(data.theorems)
    call_s = args.call_ms / 1000.0
    base = override(ProverConfig(), [("budget.max_expansions", args.expansions), ("policy.params", {"k": 8}),
                                     ("scheduler.max_concurrent", args.concurrency)])
    shapes = [tuple(int(part) for part in shape.split("x")) for shape in args.shapes.split(",")]
    configs = {
        shape: override(base, [("ray.enabled", True), ("ray.model_actors", shape[0]), ("ray.workers", shape[1]),
                               ("ray.model_cpus", 0), ("ray.worker_cpus", 0),
                               ("scheduler.max_concurrent", max(1, args.concurrency // shape[1]))])
        for shape in shapes
    }
    print(f"(a) {args.dataset}: {n} theorems, best-first k=8, {args.expansions} expansions at most, "
          f"{args.call_ms:g} ms per proposer call, {args.concurrency} searches at once in all")
    print(f"    machine: {os.cpu_count()} CPUs, load average {load()} before")

    started = time.perf_counter()
    temp_dir = tempfile.mkdtemp(prefix="ray")  # Ray's sockets and logs; removed at the end
    if args.address == "local":
        ray.init(address="local", include_dashboard=False, _temp_dir=temp_dir)
    else:
        ray.init(address=args.address)
    ray_start = time.perf_counter() - started

    runs: dict[object, list[Timed]] = {"local": [], **{shape: [] for shape in shapes}}
    for _ in range(args.repeats):
        runs["local"].append(timed_local(data, base, call_s))
        for shape in shapes:
            runs[shape].append(timed_ray(data, configs[shape], call_s))
            assert runs[shape][-1].records == runs["local"][0].records, f"the Ray run {shape} recorded something else"

    print(f"\n    {'configuration':<28}{'theorems/s':>11}{'best':>7}{'wall s':>8}{'CPU s':>7}{'actors s':>10}"
          f"{'model calls':>13}{'batch':>7}")
    print(f"    {'(Ray start)':<28}{'':>11}{'':>7}{ray_start:>8.2f}")
    for name, timed in runs.items():
        wall = statistics.median(t.wall for t in timed)
        label = "local, one process" if name == "local" else f"Ray, {name[0]} model x {name[1]} workers"
        ready = f"{statistics.median(t.ready for t in timed):>10.2f}" if name != "local" else f"{'':>10}"
        print(f"    {label:<28}{n / wall:>11.1f}{n / min(t.wall for t in timed):>7.1f}{wall:>8.2f}"
              f"{statistics.median(t.cpu for t in timed):>7.2f}{ready}{timed[-1].batches.calls:>13}{timed[-1].batches.mean_size:>7.1f}")
    if (1, 1) in runs:
        local_wall, one = (statistics.median(t.wall for t in runs[key]) for key in ("local", (1, 1)))
        local_cpu, one_cpu = (statistics.median(t.cpu for t in runs[key]) for key in ("local", (1, 1)))
        print(f"    Ray overhead, 1 model x 1 worker vs local (medians): {(one - local_wall) / n * 1000:+.2f} ms of wall "
              f"time per theorem ({(one / local_wall - 1) * 100:+.1f}%), {(one_cpu - local_cpu) / n * 1000:+.2f} ms of CPU "
              f"per theorem ({(one_cpu / local_cpu - 1) * 100:+.1f}%)")
    print("    every Ray run recorded exactly what the local run recorded (timings aside)")

    remote, local = per_call_ms(500)
    one_at_a_time, in_flight = per_job_ms(500)
    print("\n(b) components")
    print(f"    model call through a model actor: {remote:.2f} ms, locally {local:.2f} ms: Ray adds {remote - local:.2f} ms per call")
    print(f"    job through the pool and a worker: {one_at_a_time:.2f} ms one at a time, {in_flight:.2f} ms each with 32 in flight")
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
