"""Scale-out on Ray: one run spread over a cluster of GPU and CPU machines.

Model actors (one per GPU, or per configured slot) hold the proposer and batch the
queries of every search they serve, as the local scheduler does; search workers (CPU) hold an environment (the
sandbox, or a Lean REPL pool on their node) and run searches whose proposer is a model
actor; the driver (this process) plans the jobs with the one seed rule and is the only
writer of the run directory. ``search`` and ``lean_env`` know nothing of Ray: this layer
composes them, as the local ``Scheduler`` does. See docs/ray.md.

    with RayAgent.from_config(config) as agent:      # config.ray: address, actors, resources
        run = agent.run(load_dataset("minif2f:test"), attempts=32, out="runs/m", resume=True)
"""

from prover.distributed.errors import ClusterError

try:
    import ray  # noqa: F401
except ModuleNotFoundError:
    raise ClusterError("Ray is not installed: pip install 'lean-prover-agent[ray]'") from None

from prover.distributed.actors import (
    ActorReady,
    ModelInfo,
    ModelServer,
    RemoteEvaluate,
    RemotePropose,
    Work,
    WorkerHost,
    WorkFactory,
)
from prover.distributed.agent import ActorPlan, RayAgent, RayCluster, plan_actors
from prover.distributed.check import CheckWork, CheckWorkFactory, RayChecker
from prover.distributed.pool import WorkerPool, connect, start_actors, stop_actors
from prover.distributed.search import SearchSpec, SearchWork, SearchWorkFactory

__all__ = [
    "ClusterError",
    "RayAgent",
    "RayCluster",
    "RayChecker",
    "CheckWork",
    "CheckWorkFactory",
    "ActorPlan",
    "plan_actors",
    "connect",
    "start_actors",
    "stop_actors",
    "WorkerPool",
    "Work",
    "WorkFactory",
    "WorkerHost",
    "ActorReady",
    "ModelInfo",
    "ModelServer",
    "RemotePropose",
    "RemoteEvaluate",
    "SearchSpec",
    "SearchWork",
    "SearchWorkFactory",
]
