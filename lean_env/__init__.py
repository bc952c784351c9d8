"""Everything that talks to a proof checker: the typed environment API and its backends.

This package depends on nothing else in the project.
"""

from lean_env.base import EnvironmentBase
from lean_env.environment import Environment
from lean_env.limits import EnvLimits
from lean_env.errors import BackendUnavailable, EnvironmentFault, LeanEnvError, StatementError
from lean_env.goals import Hypothesis, ParsedGoal, fresh_name, parse_goal, split_top
from lean_env.types import (
    FAILURES,
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepResult,
    StepTimeout,
    TacticError,
    TacticRejected,
    Theorem,
    Verdict,
    canonical_goals,
)

__all__ = [
    "Environment",
    "EnvLimits",
    "EnvironmentBase",
    "Theorem",
    "ProofState",
    "canonical_goals",
    "StepResult",
    "NewState",
    "ProofComplete",
    "TacticError",
    "TacticRejected",
    "StepTimeout",
    "EnvCrash",
    "Verdict",
    "FAILURES",
    "LeanEnvError",
    "StatementError",
    "BackendUnavailable",
    "EnvironmentFault",
    "Hypothesis",
    "ParsedGoal",
    "parse_goal",
    "split_top",
    "fresh_name",
]
