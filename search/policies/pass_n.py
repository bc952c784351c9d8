"""``pass-n``: sample whole proofs and verify each (the DeepSeek / Goedel / Kimina setting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.proposer import ProposerKind

__all__ = ["PassN"]


@dataclass(frozen=True)
class PassN:
    """Whole-proof sampling, ``N x 1 x 1``: needs a ``kind="proof"`` proposer. Stops at the
    first proof ``verify`` accepts; a text sampled twice is verified once."""

    name: ClassVar[str] = "pass-n"
    proposer_kind: ClassVar[ProposerKind] = "proof"
    n: int = param(32, "proofs sampled in all (N)", min=1)
    per_call: int = param(8, "proofs requested per proposer query (queries repeat with fresh seeds until n are drawn)", min=1)

    def __post_init__(self) -> None:
        check_params(self)

    async def run(self, ctx: SearchContext) -> None:
        root = ctx.graph.root
        drawn = 0
        while drawn < self.n and not ctx.done:
            k = min(self.per_call, self.n - drawn)
            drawn += k
            [(_, candidates)] = await ctx.sample([root], k)
            await ctx.verify_attempts(root, candidates)
