"""Search policies, chosen by name: ``make_policy("best-first", k=8)``."""

from __future__ import annotations

from search.errors import SearchConfigError
from search.policies.base import Policy
from search.policies.beam import Beam
from search.policies.best_first import BestFirst
from search.policies.lookahead import Lookahead
from search.policies.mcts import MCTS
from search.policies.pass_n import PassN
from search.policies.rollouts import Rollouts

__all__ = ["Policy", "POLICIES", "make_policy", "PassN", "Rollouts", "BestFirst", "Beam", "MCTS", "Lookahead"]

POLICIES: dict[str, type] = {cls.name: cls for cls in (PassN, Rollouts, BestFirst, Beam, MCTS, Lookahead)}
"""Registered policies by name."""


def make_policy(name: str, **params: object) -> Policy:
    """The policy registered as ``name`` configured with ``params``; ``SearchConfigError``
    for an unknown name or parameter."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise SearchConfigError(f"unknown search policy {name!r}; choose from {', '.join(POLICIES)}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise SearchConfigError(f"bad parameters for policy {name!r}: {exc}") from None
