"""The proposer interface: what search asks of a tactic model.

Search depends only on this and on ``lean_env`` types. Models, the model-free
baselines and whole-proof generators all implement ``Proposer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence, runtime_checkable

from lean_env.types import ProofState, Theorem

__all__ = ["Candidate", "Query", "Proposer", "ProposerKind"]

ProposerKind = Literal["tactic", "proof"]


@dataclass(frozen=True)
class Candidate:
    """One proposed tactic (or whole proof script for ``kind == "proof"`` proposers).

    ``logprob`` is the summed log-probability of the generated tokens and
    ``num_tokens`` their count, so budgets can be charged in tokens.
    """

    text: str
    logprob: float = 0.0
    num_tokens: int = 0


@dataclass(frozen=True)
class Query:
    """A request for candidates at one proof state.

    ``history`` lists the tactics on the path from the root (models that condition on
    the proof so far use it); ``seed`` makes sampling reproducible per request,
    whatever batch the request lands in.
    """

    theorem: Theorem
    state: ProofState
    history: tuple[str, ...] = ()
    seed: int = 0


@runtime_checkable
class Proposer(Protocol):
    """Batched candidate generation.

    ``propose`` returns, for each query in order, up to ``k`` distinct candidates,
    best first. It may block (a GPU forward pass); schedulers call it from a worker
    thread and merge queries from many searches into one call.
    """

    name: str
    kind: ProposerKind

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]: ...
