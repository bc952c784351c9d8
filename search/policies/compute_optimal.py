"""``compute-optimal``: a strategy per theorem, from a predicted difficulty and a strategy table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import ClassVar

from lean_env.types import ProofState, Theorem, Verdict
from search.context import SearchContext
from search.errors import SearchConfigError
from search.graph import OPEN
from search.params import check_params, param
from search.policies.base import roll_out
from search.policies.registry import resolve_policy
from search.proposer import Attempt, ProposerKind
from search.strategy import Signal, StrategyTable, read_strategy_table
from search.value import goal_heuristic

__all__ = ["ComputeOptimal", "predict_difficulty"]


async def predict_difficulty(ctx: SearchContext, *, kind: ProposerKind, signal: Signal, pilot: int, depth: int) -> float:
    """A difficulty in ``[0, 1]`` (0 when the pilot already proved the theorem).

    ``root-value``: one minus the root's value (the value model's, the goal heuristic's
    without one); costs no sample. ``pilot``: ``pilot`` samples charged to the search's
    budget; for tactic proposers as many lockstep rollouts of at most ``depth`` steps, then
    one minus the best value of any open state they reached; for whole-proof proposers
    ``pilot`` proofs checked, then one minus their mean progress (the share of a proof's
    lines before its first error, or the goal heuristic of the goals it left unsolved).
    """
    root = ctx.graph.root
    if signal == "root-value":
        return 1.0 - (await ctx.values([root]))[0]
    if kind == "tactic":
        await roll_out(ctx, [[root] for _ in range(pilot)], depth)
        if ctx.done:
            return 0.0
        open_states = [n.id for n in ctx.graph.nodes() if n.kind == "state" and n.status == OPEN]
        return 1.0 - max(await ctx.values(open_states), default=0.0)
    [(_, candidates)] = await ctx.sample([root], pilot)
    verdicts = await ctx.verify_attempts(root, candidates)
    if ctx.done:
        return 0.0
    return 1.0 - statistics.fmean([_progress(ctx.theorem, v) for v in verdicts] or [0.0])


def _progress(theorem: Theorem, verdict: Verdict) -> float:
    """How far a failed proof got: the share of its lines before its first positioned
    error; for a proof whose every line ran but left goals (the error Lean places on the
    statement), the goal heuristic of the goals its message lists; 0 without a position."""
    lines = verdict.proof.count("\n") + 1
    attempt = Attempt(verdict.proof, verdict.messages)
    errors = attempt.error_lines(theorem)
    placed = [line for line in errors if line >= 0]
    if placed:
        return min(placed) / lines
    left = next((m.split(_UNSOLVED, 1)[1] for m in verdict.messages if _UNSOLVED in m), "")
    goals = tuple(goal.strip("\n") for goal in left.split("\n\n") if goal.strip())
    return goal_heuristic(ProofState(goals=goals)) if goals else 0.0


_UNSOLVED = "unsolved goals"


@dataclass(frozen=True)
class ComputeOptimal:
    """Compute-optimal test-time search (Snell et al. 2024): predict the theorem's
    difficulty from a cheap signal (a pilot whose cost comes out of the same budget, or
    the root's value), then run the strategy the table (``prover calibrate``) chose for
    that difficulty bin at the search's token budget, on the same graph the pilot grew."""

    name: ClassVar[str] = "compute-optimal"
    strategy: str | None = param(None, "strategy table file written by 'prover calibrate' (--strategy)")
    table: StrategyTable | None = param(None, "the strategy table itself, from Python (instead of a file)", compare=False)
    pilot_depth: int = param(16, "steps per pilot rollout at most (tactic tables)", min=1)

    def __post_init__(self) -> None:
        check_params(self)
        if self.table is None and self.strategy is None:
            raise SearchConfigError("policy 'compute-optimal' needs a strategy table: --strategy TABLE "
                                    "(written by 'prover calibrate')")
        table = self.table if self.table is not None else read_strategy_table(self.strategy)
        for choice in table.choices:
            chosen = resolve_policy(choice.strategy.policy, choice.strategy.params)
            if chosen.proposer_kind != table.kind:
                raise SearchConfigError(f"strategy table of kind {table.kind!r} chooses {choice.strategy.label!r}, "
                                        f"a {chosen.proposer_kind!r} policy")
        object.__setattr__(self, "_table", table)  # the file read once, not a parameter

    @property
    def proposer_kind(self) -> ProposerKind:
        """The kind of proposer every strategy of the table uses."""
        return self._table.kind

    async def run(self, ctx: SearchContext) -> None:
        table = self._table
        difficulty = await predict_difficulty(ctx, kind=table.kind, signal=table.signal, pilot=table.pilot,
                                              depth=self.pilot_depth)
        if ctx.done:
            return
        chosen = table.pick(difficulty, ctx.budget.max_tokens)
        await resolve_policy(chosen.policy, chosen.params).run(ctx)
