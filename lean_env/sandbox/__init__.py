"""The built-in propositional sandbox: an offline checker of Lean 4 tactic proofs,
its theorem generator and fixed dataset splits."""

from lean_env.sandbox.datasets import SANDBOX_DATA_VERSION, load_split, split_names
from lean_env.sandbox.env import SandboxEnvironment, in_fragment, state_of
from lean_env.sandbox.generator import Difficulty, GeneratedTheorem, generate_theorems
from lean_env.sandbox.syntax import is_tautology

__all__ = [
    "SandboxEnvironment",
    "in_fragment",
    "state_of",
    "Difficulty",
    "GeneratedTheorem",
    "generate_theorems",
    "is_tautology",
    "load_split",
    "split_names",
    "SANDBOX_DATA_VERSION",
]
