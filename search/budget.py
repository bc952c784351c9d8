"""One budget for every search policy, and the tracker that enforces it.

Notation: a run is often described as ``N x S x T``: ``N`` independent attempts, ``S``
tactics sampled per expansion and ``T`` expansions per attempt. ``pass-n`` is
``N x 1 x 1`` whole proofs; ``rollouts`` is ``N x 1 x depth``; tree searches are
``1 x S x T``. A ``Budget`` caps the resources those products spend, whatever the policy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from search.params import check_params, param

__all__ = ["Budget", "Spent", "BudgetExhausted", "BudgetTracker"]


@dataclass(frozen=True)
class Budget:
    """Limits on one theorem's search; ``None`` means unlimited. The final check of a found
    proof is never charged; nothing new starts after ``max_seconds`` and work in flight is
    cancelled at it."""

    max_expansions: int | None = param(None, "proposer queries (one query = one state expanded, k samples)", min=0)
    max_env_calls: int | None = param(None, "environment steps, and verify calls made by the search itself (pass-n)", min=0)
    max_samples: int | None = param(None, "candidates requested from the proposer (k per query, charged before the call)", min=0)
    max_tokens: int | None = param(None, "generated tokens of the candidates used (one that would overflow ends the search)", min=0)
    max_seconds: float | None = param(None, "wall-clock seconds per search", min=0)

    def __post_init__(self) -> None:
        check_params(self)


@dataclass(frozen=True)
class Spent:
    """What a search consumed, reported in every result."""

    expansions: int = 0
    env_calls: int = 0
    samples: int = 0
    tokens: int = 0
    evaluations: int = 0
    seconds: float = 0.0

    def within(self, budget: Budget) -> bool:
        """Whether every counter is inside ``budget`` (the invariant the tracker keeps)."""
        pairs = (
            (self.expansions, budget.max_expansions),
            (self.env_calls, budget.max_env_calls),
            (self.samples, budget.max_samples),
            (self.tokens, budget.max_tokens),
        )
        return all(limit is None or used <= limit for used, limit in pairs)


class BudgetExhausted(Exception):
    """Raised by the tracker when a charge is refused; ends the search with status ``budget``."""


class BudgetTracker:
    """Charges resources against a ``Budget``, refusing any charge that would exceed it."""

    def __init__(self, budget: Budget, clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self._clock = clock
        self._start = clock()
        self._expansions = 0
        self._env_calls = 0
        self._samples = 0
        self._tokens = 0
        self._tokens_closed = False
        self._evaluations = 0

    def remaining_seconds(self) -> float | None:
        """Seconds left before the wall-clock limit, ``None`` when unlimited."""
        if self.budget.max_seconds is None:
            return None
        return self.budget.max_seconds - (self._clock() - self._start)

    def _check_time(self) -> None:
        left = self.remaining_seconds()
        if left is not None and left <= 0:
            raise BudgetExhausted("wall-clock limit reached")

    def grant_queries(self, wanted: int, k: int) -> int:
        """Charge as many of ``wanted`` queries of ``k`` samples each as fit; raises if none does."""
        self._check_time()
        limit = self.budget.max_tokens
        if self._tokens_closed or (limit is not None and self._tokens >= limit):
            raise BudgetExhausted("token limit reached")
        granted = wanted
        if self.budget.max_expansions is not None:
            granted = min(granted, self.budget.max_expansions - self._expansions)
        if self.budget.max_samples is not None:
            granted = min(granted, (self.budget.max_samples - self._samples) // k)
        if granted <= 0:
            raise BudgetExhausted("expansion or sample limit reached")
        self._expansions += granted
        self._samples += granted * k
        return granted

    def accept_tokens(self, num_tokens: int) -> bool:
        """Charge one candidate's tokens; ``False`` (and the search ends) when they do not fit."""
        limit = self.budget.max_tokens
        if self._tokens_closed or (limit is not None and self._tokens + num_tokens > limit):
            self._tokens_closed = True
            return False
        self._tokens += num_tokens
        return True

    def grant_env_calls(self, wanted: int) -> int:
        """Charge as many of ``wanted`` environment calls as fit; raises if none does."""
        self._check_time()
        granted = wanted
        if self.budget.max_env_calls is not None:
            granted = min(granted, self.budget.max_env_calls - self._env_calls)
        if granted <= 0 and wanted > 0:
            raise BudgetExhausted("environment call limit reached")
        self._env_calls += granted
        return granted

    def count_evaluations(self, states: int) -> None:
        """Record states scored by a value model (reported, not limited)."""
        self._evaluations += states

    def spent(self) -> Spent:
        """Snapshot of everything charged so far."""
        return Spent(
            expansions=self._expansions,
            env_calls=self._env_calls,
            samples=self._samples,
            tokens=self._tokens,
            evaluations=self._evaluations,
            seconds=self._clock() - self._start,
        )
