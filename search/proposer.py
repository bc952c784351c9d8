"""The proposer interface: what search asks of a tactic model.

Search depends only on this and on ``lean_env`` types. Models, the model-free
baselines and whole-proof generators all implement ``Proposer``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import Literal, Protocol, Sequence, runtime_checkable

from lean_env.types import ProofState, Theorem

__all__ = ["Candidate", "Attempt", "Query", "Proposer", "ProposerKind", "ProposeFn", "ThreadedPropose", "as_propose_fn",
           "charge_generated"]

ProposerKind = Literal["tactic", "proof"]


@dataclass(frozen=True)
class Candidate:
    """One proposed tactic (or whole proof script for ``kind == "proof"`` proposers).

    ``logprob`` is the summed log-probability of the generated tokens and
    ``num_tokens`` the tokens generated to obtain it (a proposer that draws more rows than
    it returns, merging duplicates, shares their tokens out over what it returns), so
    budgets can be charged in tokens.
    """

    text: str
    logprob: float = 0.0
    num_tokens: int = 0


def charge_generated(kept: Sequence[Candidate], generated: int) -> list[Candidate]:
    """``kept`` charged ``generated`` tokens in all: what the proposer generated beyond the
    kept candidates' own tokens (samples merged away as duplicates, over-sampled rows) is
    shared out over them, so a token budget counts all generation."""
    extra = generated - sum(c.num_tokens for c in kept)
    if not kept or extra <= 0:
        return list(kept)
    share, rest = divmod(extra, len(kept))
    return [replace(c, num_tokens=c.num_tokens + share + (i < rest)) for i, c in enumerate(kept)]


@dataclass(frozen=True)
class Attempt:
    """A whole proof tried earlier and the checker's messages about it (``severity
    line:column: text``, lines counted from the statement's first line as in
    ``Theorem.with_proof`` without the header), for a revision request."""

    text: str
    messages: tuple[str, ...] = ()

    def error_lines(self, theorem: Theorem) -> list[int]:
        """0-based lines of ``text`` that error messages point at, in message order; -1 for
        an error placed on the statement itself (Lean puts ``unsolved goals`` at ``by``)."""
        first = theorem.statement.count("\n") + 1
        lines = []
        for message in self.messages:
            match = _POSITION.match(message)
            if match and match["severity"] == "error":
                lines.append(max(int(match["line"]) - first - 1, -1))
        return lines


_POSITION = re.compile(r"(?P<severity>\w+) (?P<line>\d+):(?P<column>\d+): ")


@dataclass(frozen=True)
class Query:
    """A request for candidates at one proof state.

    ``history`` lists the tactics on the path from the root (models that condition on
    the proof so far use it); ``seed`` makes sampling reproducible per request,
    whatever batch the request lands in. ``revising``, for whole-proof proposers, holds
    the earlier failed attempts (oldest first) that the new proof should correct.
    """

    theorem: Theorem
    state: ProofState
    history: tuple[str, ...] = ()
    seed: int = 0
    revising: tuple[Attempt, ...] = ()


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


@runtime_checkable
class ProposeFn(Protocol):
    """What search awaits for candidates: a ``Proposer`` run in a thread, or the
    scheduler's batching front end shared by many searches."""

    name: str
    kind: ProposerKind

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]: ...


class ThreadedPropose:
    """Runs a blocking ``Proposer`` in a worker thread, one call per request."""

    def __init__(self, proposer: Proposer):
        self.proposer = proposer
        self.name = proposer.name
        self.kind = proposer.kind

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return await asyncio.to_thread(self.proposer.propose, list(queries), k)


def as_propose_fn(proposer: Proposer | ProposeFn) -> ProposeFn:
    """Accept either a ``Proposer`` or a ready ``ProposeFn``."""
    return ThreadedPropose(proposer) if hasattr(proposer, "propose") else proposer
