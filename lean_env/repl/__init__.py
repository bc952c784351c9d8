"""Lean REPL backend (leanprover-community/repl): typed protocol, worker pool with
fault recovery, whole-proof verification and proof-step extraction."""

from lean_env.repl.config import DEFAULT_AXIOMS, ReplConfig
from lean_env.repl.env import ReplEnvironment, ReplHandle

__all__ = ["ReplConfig", "ReplEnvironment", "ReplHandle", "DEFAULT_AXIOMS"]
