"""The model-free baseline proposer for propositional goals.

It parses the pretty-printed first goal with the sandbox's goal parser (from the text,
never from a backend handle) and proposes the tactics that fit the goal's shape: closing
moves when a hypothesis matches, introduction rules for the target's connective,
elimination of ∧/∨/↔ hypotheses, ``apply`` of hypotheses concluding in the target, and
``by_cases`` as a classical fallback. Scores are fixed priors normalised per goal.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Iterator, Mapping, Sequence

from lean_env.errors import StatementError
from propsandbox.kernel import Goal, defeq, parse_goal
from propsandbox.syntax import FALSE, And, Atom, Bot, Formula, Iff, Imp, Not, Or, Top, atoms_of, pp
from search.engine import derive_seed
from search.proposer import Candidate, ProposerKind, Query

__all__ = ["BASELINE_PRIORS", "FALLBACK_TACTICS", "BaselineProposer", "WholeProofBaseline", "suggest"]

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


def _fresh(taken: set[str], count: int) -> list[str]:
    names, i = [], 0
    while len(names) < count:
        name = "h" if i == 0 else "h" + str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
        if name not in taken:
            names.append(name)
        i += 1
    return names


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
    a, b = _fresh(taken, 2)

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
        try:
            scored = suggest(parse_goal(query.state.goals[0]), self.priors)
        except StatementError:
            scored = [(text, 1.0) for text in FALLBACK_TACTICS]
        total = sum(w for _, w in scored)
        if self.temperature > 0:
            rng = random.Random(query.seed)
            keyed = [(math.log(w) / self.temperature - math.log(-math.log(rng.random() or 1e-300)), text, w)
                     for text, w in scored]
            scored = [(text, w) for _, text, w in sorted(keyed, reverse=True)]
        return [Candidate(text, math.log(w / total), len(text.split())) for text, w in scored[:k]]


@dataclass(frozen=True)
class WholeProofBaseline:
    """Model-free whole-proof sampler for sandbox theorems (``kind="proof"``, for ``pass-n``).

    Each sample is one rollout: a tactic drawn with the baseline's priors at
    ``temperature``, the goals tracked with the sandbox kernel, until no goal is left, a
    tactic fails, or ``max_steps``. It writes the script without ever being told whether
    it is a proof: ``pass-n`` sends every script to ``verify`` like a model's.
    """

    temperature: float = 1.0
    max_steps: int = 24
    name: ClassVar[str] = "baseline-proof"
    kind: ClassVar[ProposerKind] = "proof"

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct proof scripts per query (fewer when rollouts coincide)."""
        return [self._scripts(query, k) for query in queries]

    def _scripts(self, query: Query, k: int) -> list[Candidate]:
        from lean_env.types import NewState
        from propsandbox import SandboxEnvironment

        env, sampler = SandboxEnvironment(), BaselineProposer(temperature=self.temperature)
        scripts: dict[str, Candidate] = {}
        for sample in range(k):
            state, tactics, logprob = query.state, [], 0.0
            for step in range(self.max_steps):
                step_query = Query(theorem=query.theorem, state=state, seed=derive_seed(query.seed, sample, step))
                choice = sampler.propose([step_query], 1)[0]
                if not choice:
                    break
                tactics.append(choice[0].text)
                logprob += choice[0].logprob
                result = env.step_sync(state, choice[0].text)
                if not isinstance(result, NewState):
                    break
                state = result.state
            text = "\n".join(tactics)
            if text and text not in scripts:
                scripts[text] = Candidate(text, logprob, sum(len(t.split()) for t in tactics))
        return list(scripts.values())
