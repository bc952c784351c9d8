"""Value functions: how promising a proof state looks, for beam, MCTS and lookahead."""

from __future__ import annotations

from typing import Callable

from lean_env.types import ProofState

__all__ = ["ValueFn", "goal_heuristic"]

ValueFn = Callable[[ProofState], float]
"""Maps a proof state to a score in ``[0, 1]``, higher = closer to a proof."""


def goal_heuristic(state: ProofState) -> float:
    """Model-free default: fewer and shorter goals are better (1.0 for no goals)."""
    size = sum(len(goal) for goal in state.goals)
    return 1.0 / (1.0 + len(state.goals) + size / 200.0)
