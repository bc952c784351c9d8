"""``revise``: sequential revision of whole proofs from the checker's error messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lean_env.types import Verdict
from search.context import SearchContext
from search.params import check_params, param
from search.proposer import Attempt, Candidate, ProposerKind

__all__ = ["Revise"]


@dataclass(frozen=True)
class Revise:
    """Parallel chains of sequential revisions (Snell et al. 2024; Goedel-Prover-V2's
    self-correction): ``n // depth`` chains each start with a sampled proof; while a
    chain's latest proof fails ``verify``, the proposer is asked for a revision of it,
    given the failed attempt and the checker's messages (with positions), until the chain
    holds ``depth`` attempts. ``depth`` 1 is ``pass-n``; ``depth == n`` one long chain.
    ``concurrent`` chains advance in lockstep (one proposer call per round for all of
    them); the next ones start when they end, so a budget that runs out first still sees
    whole chains of the chosen depth."""

    name: ClassVar[str] = "revise"
    proposer_kind: ClassVar[ProposerKind] = "proof"
    n: int = param(32, "proofs sampled in all, first attempts and revisions together (N)", min=1)
    depth: int = param(4, "attempts per chain, the first one included: the sequential share of N "
                          "(N // depth chains run in parallel)", min=1)
    window: int = param(1, "latest failed attempts of a chain shown in a revision request", min=1)
    concurrent: int = param(8, "chains advanced together in lockstep, sharing one proposer call per round", min=1)

    def __post_init__(self) -> None:
        check_params(self)

    async def run(self, ctx: SearchContext) -> None:
        verdicts: dict[str, Verdict] = {}
        total = max(self.n // self.depth, 1)
        for started in range(0, total, self.concurrent):
            if not await self._wave(ctx, min(self.concurrent, total - started), verdicts):
                return

    async def _wave(self, ctx: SearchContext, width: int, verdicts: dict[str, Verdict]) -> bool:
        """Run ``width`` chains to their depth; ``False`` when the search is over (proved,
        or the budget refused a check)."""
        root = ctx.graph.root
        chains: list[list[Attempt]] = [[] for _ in range(width)]
        for _ in range(self.depth):
            if ctx.done:  # a verified proof ends every chain
                return False
            revising = [tuple(chain[-self.window:]) for chain in chains]
            sampled = await ctx.sample([root] * len(chains), 1, revising=revising)
            drawn = [(chain, candidates[0]) for chain, (_, candidates) in zip(chains, sampled) if candidates]
            await self._check(ctx, [candidate for _, candidate in drawn], verdicts)
            for chain, candidate in drawn:
                verdict = verdicts.get(candidate.text)
                if verdict is None:  # the budget refused its check
                    return False
                chain.append(Attempt(candidate.text, _feedback(verdict)))
        return not ctx.done

    @staticmethod
    async def _check(ctx: SearchContext, candidates: list[Candidate], verdicts: dict[str, Verdict]) -> None:
        """Verify the candidates not checked before, recording each verdict by proof text."""
        for verdict in await ctx.verify_attempts(ctx.graph.root, [c for c in candidates if c.text not in verdicts]):
            verdicts[verdict.proof] = verdict


def _feedback(verdict: Verdict) -> tuple[str, ...]:
    """The checker's messages, or its one-line reason when it gave no positioned message."""
    return verdict.messages or ((f"error: {verdict.reason}",) if verdict.reason else ())
