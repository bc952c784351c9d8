"""``pass-n``: sample whole proofs and verify each (the DeepSeek / Goedel / Kimina setting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.engine import SearchEngine
from search.policies.base import check_positive
from search.proposer import ProposerKind

__all__ = ["PassN"]


@dataclass(frozen=True)
class PassN:
    """Whole-proof sampling, ``N x 1 x 1``: needs a ``kind="proof"`` proposer.

    - ``n``: proofs sampled in all (N); stops at the first one ``verify`` accepts.
    - ``per_call``: proofs requested per proposer query; queries repeat with fresh seeds
      until ``n`` samples were drawn. A text sampled twice is verified once.
    """

    name: ClassVar[str] = "pass-n"
    proposer_kind: ClassVar[ProposerKind] = "proof"
    n: int = 32
    per_call: int = 8

    def __post_init__(self) -> None:
        check_positive(self, "n", "per_call")

    async def run(self, engine: SearchEngine) -> None:
        root = engine.graph.root
        drawn = 0
        while drawn < self.n and not engine.done:
            k = min(self.per_call, self.n - drawn)
            drawn += k
            [(_, candidates)] = await engine.sample([root], k)
            await engine.verify_attempts(root, candidates)
