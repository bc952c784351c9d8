"""Value models: how likely a proof state is to be provable, for value-guided search.

A ``ValueModel`` is batched and may block (a forward pass), like a ``Proposer``; the
engine runs it in a worker thread and the scheduler merges the states of many searches
into one call. ``GoalHeuristic`` is the model-free fallback policies use when a search has
no value model.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, Sequence, runtime_checkable

from lean_env.types import ProofState

__all__ = ["ValueModel", "EvaluateFn", "ThreadedEvaluate", "as_evaluate_fn", "GoalHeuristic", "goal_heuristic"]


@runtime_checkable
class ValueModel(Protocol):
    """Batched state evaluation: for each state, a score in ``[0, 1]`` read as the
    probability that it can still be proved (higher = closer to a proof)."""

    name: str

    def evaluate(self, states: Sequence[ProofState]) -> list[float]: ...


@runtime_checkable
class EvaluateFn(Protocol):
    """What search awaits for values: a ``ValueModel`` run in a thread, or the scheduler's
    batching front end shared by many searches."""

    name: str

    async def __call__(self, states: Sequence[ProofState]) -> list[float]: ...


class ThreadedEvaluate:
    """Runs a blocking ``ValueModel`` in a worker thread, one call per request."""

    def __init__(self, model: ValueModel):
        self.model = model
        self.name = model.name

    async def __call__(self, states: Sequence[ProofState]) -> list[float]:
        return await asyncio.to_thread(self.model.evaluate, list(states))


def as_evaluate_fn(model: ValueModel | EvaluateFn) -> EvaluateFn:
    """Accept either a ``ValueModel`` or a ready ``EvaluateFn``."""
    return ThreadedEvaluate(model) if hasattr(model, "evaluate") else model


def goal_heuristic(state: ProofState) -> float:
    """Model-free default: fewer and shorter goals are better (1.0 for no goals)."""
    size = sum(len(goal) for goal in state.goals)
    return 1.0 / (1.0 + len(state.goals) + size / 200.0)


class GoalHeuristic:
    """``goal_heuristic`` as a ``ValueModel`` (cheap: it needs no thread or batching)."""

    name = "goal-heuristic"

    def evaluate(self, states: Sequence[ProofState]) -> list[float]:
        """The heuristic of each state."""
        return [goal_heuristic(state) for state in states]
