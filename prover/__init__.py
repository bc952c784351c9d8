"""Lean 4 theorem-proving search agent: the agent API, models, training, data and the CLI.

The public Python API::

    from prover import Agent, BestFirst, Budget, load_dataset

    with Agent.from_config() as agent:
        print(agent.prove("theorem t (p q : Prop) : p ∧ q → q ∧ p := by").proof)
        run = agent.run(load_dataset("sandbox:valid"), policy=BestFirst(k=8), budget=Budget(max_expansions=50))
        print(len(run.solved), run.pass_at_k(1))

Heavy modules (models, training) are imported on first use, so ``import prover`` stays light.
"""

from __future__ import annotations

from typing import Any

from lean_env import EnvLimits, Environment, Theorem
from prover.agent import Agent, close
from prover.config import DEFAULT_BUDGET, EnvConfig, ModelConfig, PolicyConfig, ProverConfig, RunConfig, load_config, override
from prover.data import Dataset, load_dataset, load_minif2f, load_theorems
from prover.report import render_report
from prover.runs import Run
from search import (
    MCTS,
    Beam,
    BestFirst,
    Budget,
    Lookahead,
    PassN,
    Policy,
    Rollouts,
    SchedulerConfig,
    SearchResult,
    resolve_policy,
)

__all__ = [
    "Agent",
    "close",
    "Run",
    "render_report",
    "Budget",
    "DEFAULT_BUDGET",
    "Policy",
    "PassN",
    "Rollouts",
    "BestFirst",
    "Beam",
    "MCTS",
    "Lookahead",
    "resolve_policy",
    "SearchResult",
    "Theorem",
    "Environment",
    "EnvLimits",
    "SandboxEnvironment",
    "ReplEnvironment",
    "LeanDojoEnvironment",
    "load_proposer",
    "Dataset",
    "load_dataset",
    "load_minif2f",
    "load_theorems",
    "ProverConfig",
    "EnvConfig",
    "ModelConfig",
    "PolicyConfig",
    "RunConfig",
    "SchedulerConfig",
    "load_config",
    "override",
]

_LAZY = {
    "SandboxEnvironment": ("propsandbox", "SandboxEnvironment"),
    "ReplEnvironment": ("lean_env.repl", "ReplEnvironment"),
    "LeanDojoEnvironment": ("lean_env.leandojo", "LeanDojoEnvironment"),
    "load_proposer": ("prover.models", "load_proposer"),
}
"""Re-exports whose modules are heavy (torch, transformers) or optional, loaded on first access."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'prover' has no attribute {name!r}")
