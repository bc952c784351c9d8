"""The model-free baseline proposers for propositional goals: thin ``search.Proposer``
adapters over the sandbox's goal-shape heuristics (``propsandbox.rank_tactics`` for single
tactics, ``propsandbox.rollout`` for whole proofs).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Sequence

from lean_env import NewState, ProofState
from propsandbox import BASELINE_PRIORS, SandboxEnvironment, rank_tactics, rollout
from search import Candidate, ProposerKind, Query, charge_generated, derive_seed

__all__ = ["BaselineProposer", "WholeProofBaseline"]


@dataclass(frozen=True)
class BaselineProposer:
    """Model-free proposer: goal-shape tactics with fixed, normalised prior scores.

    ``temperature`` 0 returns the ``k`` highest-prior tactics (deterministic); above 0 it
    samples ``k`` distinct tactics with probability ∝ prior^(1/temperature) (Gumbel top-k,
    seeded by ``Query.seed``), so that ``rollouts`` explore instead of repeating one path.
    """

    priors: Mapping[str, float] = field(default_factory=lambda: BASELINE_PRIORS)
    temperature: float = 0.0
    name: ClassVar[str] = "baseline"
    kind: ClassVar[ProposerKind] = "tactic"

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct candidates per query, best first; ``logprob`` is the log of
        the rule's prior normalised over everything offered for that goal."""
        return [self._one(q, k) for q in queries]

    def _one(self, query: Query, k: int) -> list[Candidate]:
        if not query.state.goals or k <= 0:
            return []
        ranked = rank_tactics(query.state.goals[0], priors=self.priors, temperature=self.temperature, seed=query.seed)
        return [Candidate(text, math.log(p), len(text.split())) for text, p in ranked[:k]]


@dataclass(frozen=True)
class WholeProofBaseline:
    """Model-free whole-proof sampler for sandbox theorems (``kind="proof"``, for ``pass-n``).

    Each sample is one rollout: a tactic drawn with the baseline's priors at
    ``temperature``, the goals tracked with the sandbox kernel, until no goal is left, a
    tactic fails, or ``max_steps``. It writes the script without ever being told whether
    it is a proof: ``pass-n`` sends every script to ``verify`` like a model's.

    Asked to revise (``Query.revising``), it backtracks the latest attempt to a point drawn
    uniformly (seeded) before the first error the checker positioned (or before its end
    when goals were left unsolved), keeps the lines up to there and samples a new
    continuation from the state they reach; a revision's tokens are those of
    the whole script it writes, as a model rewriting the proof would spend.
    """

    temperature: float = 1.0
    max_steps: int = 24
    name: ClassVar[str] = "baseline-proof"
    kind: ClassVar[ProposerKind] = "proof"

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct proof scripts per query (fewer when rollouts coincide)."""
        return [self._scripts(query, k) for query in queries]

    def _scripts(self, query: Query, k: int) -> list[Candidate]:
        kept, state = _kept_prefix(query)
        scripts: dict[str, Candidate] = {}
        words = 0
        for sample in range(k):
            seeds = (derive_seed(query.seed, sample, step) for step in range(self.max_steps - len(kept)))
            steps = rollout(state, seeds, temperature=self.temperature)
            lines = kept + [tactic for tactic, _ in steps]
            text, size = "\n".join(lines), sum(len(line.split()) for line in lines)
            words += size
            if text and text not in scripts:
                scripts[text] = Candidate(text, sum(math.log(p) for _, p in steps), size)
        return charge_generated(list(scripts.values()), words)


def _kept_prefix(query: Query) -> tuple[list[str], ProofState]:
    """The lines of the latest attempt kept by a revision, and the state they lead to
    (no lines and the query's state for a first attempt)."""
    if not query.revising:
        return [], query.state
    attempt = query.revising[-1]
    lines = attempt.text.split("\n")
    errors = attempt.error_lines(query.theorem)
    first = min((line for line in errors if line >= 0), default=len(lines) if errors else 0)
    kept = lines[: random.Random(query.seed).randint(0, first)]
    if not kept:
        return [], query.state
    result = SandboxEnvironment().step_sync(query.state, "\n".join(kept))
    return (kept, result.state) if isinstance(result, NewState) else ([], query.state)
