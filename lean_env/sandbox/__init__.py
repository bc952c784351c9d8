"""The built-in propositional sandbox: an offline checker of Lean 4 tactic proofs,
its theorem generator and fixed dataset splits."""

from lean_env.sandbox.env import SandboxEnvironment, in_fragment, state_of

__all__ = ["SandboxEnvironment", "in_fragment", "state_of"]
