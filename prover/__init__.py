"""Lean 4 theorem-proving search agent: models, training, the agent API and the CLI.

The public Python API::

    from prover import Agent, ProverConfig

    with Agent.from_config(ProverConfig()) as agent:
        print(agent.prove("theorem t (p q : Prop) : p ∧ q → q ∧ p := by").proof)
"""

from lean_env import Theorem
from prover.agent import Agent, AttemptJob, ProofResult
from prover.config import EnvConfig, ModelConfig, PolicyConfig, ProverConfig, RunConfig, load_config
from search.budget import Budget

__all__ = [
    "Agent",
    "AttemptJob",
    "Budget",
    "EnvConfig",
    "ModelConfig",
    "PolicyConfig",
    "ProofResult",
    "ProverConfig",
    "RunConfig",
    "Theorem",
    "load_config",
]
