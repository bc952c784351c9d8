"""The built-in propositional sandbox: an offline checker of Lean 4 tactic proofs (not Lean),
its theorem generator, fixed dataset splits and goal-shape tactic heuristics.

Depends only on ``lean_env``'s public API; everything outside this package imports from here.
"""

from propsandbox.cache import cache_sizes, clear_caches
from propsandbox.datasets import SANDBOX_DATA_VERSION, load_split, split_names
from propsandbox.environment import RESOURCE_LIMIT, SandboxEnvironment, in_fragment, provable, state_of
from propsandbox.kernel import WorkLimits
from propsandbox.generator import Difficulty, GeneratedTheorem, generate_theorems
from propsandbox.heuristics import BASELINE_PRIORS, FALLBACK_TACTICS, rank_tactics, rollout
from propsandbox.syntax import is_tautology, parse_statement

__all__ = [
    "SandboxEnvironment",
    "WorkLimits",
    "RESOURCE_LIMIT",
    "cache_sizes",
    "clear_caches",
    "in_fragment",
    "provable",
    "state_of",
    "parse_statement",
    "Difficulty",
    "GeneratedTheorem",
    "generate_theorems",
    "is_tautology",
    "load_split",
    "split_names",
    "SANDBOX_DATA_VERSION",
    "BASELINE_PRIORS",
    "FALLBACK_TACTICS",
    "rank_tactics",
    "rollout",
]
