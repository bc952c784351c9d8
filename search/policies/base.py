"""The interface every search policy implements, and helpers they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Iterable, Protocol, Sequence

from search.errors import SearchConfigError
from search.proposer import ProposerKind

if TYPE_CHECKING:
    from search.engine import SearchEngine, Step
    from search.graph import ProofGraph

__all__ = ["Policy", "check_positive", "child_scores", "roll_out"]


class Policy(Protocol):
    """A search policy: a frozen config dataclass whose ``run`` drives a ``SearchEngine``.

    ``run`` returns when the root is proved or failed or the policy's own search space
    is exhausted; the engine raises ``BudgetExhausted`` when the budget refuses a charge.
    """

    name: ClassVar[str]
    proposer_kind: ClassVar[ProposerKind]

    async def run(self, engine: "SearchEngine") -> None: ...


def check_positive(config: object, *fields: str) -> None:
    """Raise ``SearchConfigError`` unless every named field of ``config`` is >= 1."""
    for name in fields:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise SearchConfigError(f"{type(config).__name__}.{name} must be a positive integer, got {value!r}")


def child_scores(graph: "ProofGraph", expanded: Iterable[tuple[float, Sequence["Step"]]]) -> dict[str, float]:
    """Best cumulative log-probability of each still-expandable child reached by the
    steps of expanded parents, given as ``(parent score, steps)``; in discovery order."""
    scores: dict[str, float] = {}
    for parent_score, steps in expanded:
        for step in steps:
            if graph.is_expandable(step.child):
                score = parent_score + step.logprob
                if score > scores.get(step.child, float("-inf")):
                    scores[step.child] = score
    return scores


async def roll_out(engine: "SearchEngine", paths: list[list[str]], max_steps: int) -> None:
    """Extend ``paths`` in place, in lockstep, by one sampled tactic per step (one proposer
    call per step for all of them), for at most ``max_steps`` steps. A path stops when its
    tactic closes the proof or fails, reaches a state already on it, or none is proposed;
    nodes are not marked fully expanded, so later queries may sample more tactics there."""
    active = list(paths)
    for _ in range(max_steps):
        if not active or engine.done:
            return
        steps = await engine.expand([path[-1] for path in active], 1, full=False)
        moved = []
        for path, node_steps in zip(active, steps):
            child = node_steps[0].child if node_steps else None
            if child is not None and engine.graph.is_expandable(child) and child not in path:
                path.append(child)
                moved.append(path)
        active = moved
