"""Proof search: the proof graph, budgets, policies and the batching scheduler.

Depends only on ``lean_env`` types and the proposer interface defined here.
"""

from search.proposer import Candidate, Proposer, ProposerKind, Query

__all__ = ["Candidate", "Proposer", "ProposerKind", "Query"]
