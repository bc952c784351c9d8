"""The outcome of one theorem search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lean_env.types import Verdict
from search.budget import Spent
from search.graph import ProofGraph

__all__ = ["SearchStatus", "Timings", "SearchResult"]

SearchStatus = Literal["proved", "failed", "budget", "error"]
"""``proved``: a proof passed ``verify``; ``failed``: the policy exhausted its search
space; ``budget``: a ``Budget`` limit stopped it; ``error``: an exception, a lost root
state, or stepping and ``verify`` disagreeing (see ``findings``)."""


@dataclass(frozen=True)
class Timings:
    """Seconds spent: ``wall`` end to end; ``env`` summed over steps (concurrent steps
    overlap, so it may exceed ``wall``); ``proposer`` awaiting candidates (batching
    waits included); ``verify`` in final checks."""

    wall: float = 0.0
    env: float = 0.0
    proposer: float = 0.0
    verify: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    """Everything one search produced; ``proof`` and ``verdict`` are set only when proved."""

    theorem: str
    policy: str
    status: SearchStatus
    proof: str | None
    verdict: Verdict | None
    spent: Spent
    graph: ProofGraph = field(compare=False, repr=False)
    timings: Timings = field(compare=False)
    findings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def proved(self) -> bool:
        return self.status == "proved"
