"""The contract between the engine and policies: the ``SearchContext`` a policy drives and
the ``Policy`` protocol itself.

Policies are written against this protocol only. The engine implements it (sampling,
environment steps, verification, budget charging); a test can implement it with a few
lines over a scripted graph. Policies never import the engine, and the engine imports
no policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, Sequence

from lean_env.types import Theorem, Verdict
from search.budget import Budget, Spent
from search.graph import ProofGraph
from search.proposer import Attempt, Candidate, ProposerKind

__all__ = ["Step", "SearchContext", "Policy"]


@dataclass(frozen=True)
class Step:
    """One candidate applied at a node: the tactic, its log-probability and where it led
    (a state node, ``qed`` or a failed leaf)."""

    tactic: str
    logprob: float
    child: str


class SearchContext(Protocol):
    """One theorem's search as a policy drives it.

    ``graph`` is read by the policy and written only by the context. ``sample``, ``expand``
    and ``verify_attempts`` charge the budget first and raise ``BudgetExhausted`` when it
    refuses every part of a request; a policy lets that propagate.
    """

    theorem: Theorem
    graph: ProofGraph
    budget: Budget

    @property
    def done(self) -> bool:
        """The root is proved, failed or lost: nothing is left to do."""
        ...

    def spent(self) -> Spent:
        """What the search has consumed so far."""
        ...

    @property
    def has_value_model(self) -> bool:
        """Whether ``values`` comes from a value model rather than the goal heuristic."""
        ...

    async def values(self, nodes: Sequence[str]) -> list[float]:
        """Each node's value in ``[0, 1]`` (1 for proved, 0 for failed nodes), from the
        search's value model in one batched call, or the goal heuristic without one."""
        ...

    async def sample(
        self, nodes: Sequence[str], k: int, *, revising: Sequence[tuple[Attempt, ...]] | None = None
    ) -> list[tuple[str, list[Candidate]]]:
        """``k`` candidates from the proposer at each node (nodes the budget cannot pay for
        are dropped); ``revising``, one entry per node, asks whole-proof proposers to
        correct those earlier attempts."""
        ...

    async def expand(self, nodes: Sequence[str], k: int, *, full: bool = True) -> list[list[Step]]:
        """Sample ``k`` tactics at each node and run them; per granted node, the steps in
        proposer order. With ``full`` the nodes are then marked fully expanded."""
        ...

    async def verify_attempts(self, node: str, candidates: Sequence[Candidate]) -> list[Verdict]:
        """Check whole-proof candidates from ``node`` with the environment's ``verify``."""
        ...


class Policy(Protocol):
    """A search policy: a frozen dataclass of declared parameters (``search.params.param``)
    whose ``run`` drives a ``SearchContext``.

    ``run`` returns when the root is proved or failed or the policy's own search space
    is exhausted; the context raises ``BudgetExhausted`` when the budget refuses a charge.
    """

    name: ClassVar[str]
    proposer_kind: ClassVar[ProposerKind]

    async def run(self, ctx: SearchContext) -> None: ...
