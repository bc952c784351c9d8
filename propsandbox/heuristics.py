"""Goal-shape tactic heuristics for sandbox goals, behind the model-free baseline proposers.

``suggest`` reads a sandbox goal and offers the tactics that fit its shape: closing moves
when a hypothesis matches, introduction rules for the target's connective, elimination of
∧/∨/↔ hypotheses, ``apply`` of hypotheses concluding in the target, and ``by_cases`` as a
classical fallback, each with a fixed prior. ``rank_tactics`` does it from goal text with
scores normalised per goal (optionally sampled), and ``rollout`` draws a whole tactic script
from a state, tracking the goals with the sandbox. Results are plain ``(tactic, weight)`` pairs.
"""

from __future__ import annotations

import math
import random
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

from lean_env import NewState, ProofState, StatementError, fresh_name
from propsandbox.environment import SandboxEnvironment
from propsandbox.kernel import Goal, defeq, parse_goal
from propsandbox.syntax import FALSE, And, Atom, Bot, Formula, Iff, Imp, Not, Or, Top, atoms_of, pp

__all__ = ["BASELINE_PRIORS", "FALLBACK_TACTICS", "suggest", "rank_tactics", "rollout"]

BASELINE_PRIORS: Mapping[str, float] = MappingProxyType(
    {
        "exact": 30.0,  # a hypothesis is the target
        "assumption": 4.0,
        "contradiction": 25.0,  # False, or both φ and ¬φ, among the hypotheses
        "trivial": 20.0,  # target True
        "intro": 15.0,  # target φ → ψ or ¬φ
        "constructor": 12.0,  # target ∧ / ↔
        "apply": 10.0,  # a hypothesis concludes in the target
        "split_hyp": 9.0,  # obtain/rcases on a ∧ / ↔ / ∨ hypothesis
        "have": 7.0,  # modus ponens between two hypotheses
        "disjunct_match": 9.0,  # left/right when a hypothesis is that side
        "disjunct": 5.0,  # left/right otherwise
        "exfalso": 4.0,  # a negated hypothesis could give False
        "by_cases_disjunct": 4.0,  # classical split on the left side of a ∨ target
        "by_cases": 1.0,  # classical split on an atom of the goal
        "cases": 1.0,
    }
)
"""Prior weight of each rule; keys name rules, not always literal tactics."""

FALLBACK_TACTICS = ("intro h", "constructor", "assumption", "left", "right", "exfalso", "contradiction")
"""Offered, uniformly, when the goal is not in the sandbox's fragment."""


def _conclusions(f: Formula) -> Iterator[Formula]:
    """The conclusions reachable by ``apply`` with a hypothesis of type ``f`` (after ≥ 1 premise)."""
    while True:
        if type(f) is Imp:
            f = f.right
        elif type(f) is Not:
            f = FALSE
        else:
            return
        yield f


def _undecided(f: Formula, facts: list[Formula]) -> bool:
    """Whether a ``by_cases`` on ``f`` could teach anything: nameable, and neither ``f``
    nor ``¬f`` is already a hypothesis."""
    return "✝" not in pp(f) and not any(defeq(t, f) or defeq(t, Not(f)) for t in facts)


def suggest(goal: Goal, priors: Mapping[str, float] = BASELINE_PRIORS) -> list[tuple[str, float]]:
    """Tactics fitting ``goal`` with their prior weights, best first, texts distinct."""
    out: dict[str, float] = {}

    def offer(rule: str, text: str) -> None:
        weight = priors.get(rule, 0.0)
        if weight > 0 and out.get(text, 0.0) < weight:
            out[text] = weight

    named = [(h.name, h.type) for h in goal.hyps if h.type is not None and h.accessible]
    facts = [h.type for h in goal.hyps if h.type is not None]
    taken = {h.name for h in goal.hyps}
    target = goal.target
    a, b = fresh_name("h", taken), fresh_name("h", taken)

    for name, ty in named:
        if defeq(ty, target):
            offer("exact", f"exact {name}")
    if any(defeq(ty, target) for ty in facts):
        offer("assumption", "assumption")
    if any(type(t) is Bot for t in facts) or any(
            type(t) is Not and any(defeq(u, t.arg) for u in facts) for t in facts):
        offer("contradiction", "contradiction")
    kind = type(target)
    if kind is Top:
        offer("trivial", "trivial")
    elif kind in (Imp, Not):
        offer("intro", f"intro {a}")
    elif kind in (And, Iff):
        offer("constructor", "constructor")
    elif kind is Or:
        for side, part in (("left", target.left), ("right", target.right)):
            matched = any(defeq(ty, part) for ty in facts)
            offer("disjunct_match" if matched else "disjunct", side)
        if _undecided(target.left, facts):
            offer("by_cases_disjunct", f"by_cases {a} : {pp(target.left)}")
    for name, ty in named:
        if any(defeq(c, target) for c in _conclusions(ty)):
            offer("apply", f"apply {name}")
        if type(ty) in (And, Iff):
            offer("split_hyp", f"obtain ⟨{a}, {b}⟩ := {name}")
        elif type(ty) is Or:
            offer("split_hyp", f"rcases {name} with {a} | {b}")
            offer("cases", f"cases {name}")
        if type(ty) is Not and kind is not Bot:
            offer("exfalso", "exfalso")
        if type(ty) is Imp:
            for other, premise in named:
                if defeq(premise, ty.left):
                    offer("have", f"have {a} := {name} {other}")
    atoms = sorted(atoms_of(target) | set().union(*(atoms_of(t) for t in facts)))
    for atom in atoms:
        if _undecided(Atom(atom), facts):
            offer("by_cases", f"by_cases {a} : {atom}")
    return sorted(out.items(), key=lambda item: -item[1])


def rank_tactics(
    goal_text: str,
    *,
    priors: Mapping[str, float] = BASELINE_PRIORS,
    temperature: float = 0.0,
    seed: int | None = None,
) -> list[tuple[str, float]]:
    """Distinct tactics for one pretty-printed goal, each with its rule's prior normalised over
    everything offered for that goal (``FALLBACK_TACTICS``, uniformly, outside the fragment).

    ``temperature`` 0 orders them by prior (deterministic); above 0 by a Gumbel top-k sample
    with probability ∝ prior^(1/temperature), seeded by ``seed``, so that rollouts explore.
    """
    try:
        scored = suggest(parse_goal(goal_text), priors)
    except StatementError:
        scored = [(text, 1.0) for text in FALLBACK_TACTICS]
    total = sum(w for _, w in scored)
    if temperature > 0:
        rng = random.Random(seed)
        keyed = [(math.log(w) / temperature - math.log(-math.log(rng.random() or 1e-300)), text, w)
                 for text, w in scored]
        scored = [(text, w) for _, text, w in sorted(keyed, reverse=True)]
    return [(text, w / total) for text, w in scored]


def rollout(
    state: ProofState,
    seeds: Iterable[int],
    *,
    temperature: float,
    priors: Mapping[str, float] = BASELINE_PRIORS,
) -> list[tuple[str, float]]:
    """One sampled tactic script from ``state``: each step takes the first of ``rank_tactics``
    (seeded by the next of ``seeds``) and runs it in the sandbox, until no goal is left, a
    tactic fails, or the seeds run out. Returns each step's tactic with its probability."""
    env, steps = SandboxEnvironment(), []
    for seed in seeds:
        ranked = rank_tactics(state.goals[0], priors=priors, temperature=temperature, seed=seed) if state.goals else []
        if not ranked:
            break
        steps.append(ranked[0])
        result = env.step_sync(state, ranked[0][0])
        if not isinstance(result, NewState):
            break
        state = result.state
    return steps
