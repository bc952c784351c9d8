"""A model-free tactic proposer for real Lean goals: Mathlib automation plus goal-shape moves.

It reads the pretty-printed first goal (hypothesis lines ``x y : ℝ``, continuation lines
indented, then ``⊢ target``), offers standard automation (``norm_num``, ``linarith``,
``omega``, ...) and structural tactics suggested by the goal's shape (``intro`` for ∀/→,
``constructor`` for ∧/↔, ``rcases`` on ∧/∨/∃ hypotheses, ``subst``, ``exact h``).
Scores are fixed priors, multiplied by a boost where the shape fits the tactic, and
normalised per goal: a baseline and a fallback that needs no model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterator, Mapping, Sequence

from lean_env.goals import ParsedGoal, fresh_name, parse_goal, split_top
from search.proposer import Candidate, ProposerKind, Query

__all__ = ["DEFAULT_PRIORS", "AutomationConfig", "AutomationProposer"]

DEFAULT_PRIORS: Mapping[str, float] = MappingProxyType(
    {
        # automation, tried on every goal
        "norm_num": 3.0,
        "linarith": 2.0,
        "nlinarith": 1.5,
        "simp": 1.5,
        "omega": 1.0,
        "positivity": 0.5,
        "ring_nf": 1.0,
        "field_simp": 0.7,
        "decide": 0.3,
        "aesop": 1.0,
        "simp_all": 1.0,
        "norm_num [*]": 1.0,
        "nlinarith [sq_nonneg ...]": 1.0,
        # moves suggested by the goal's shape, only offered where they apply
        "exact": 20.0,
        "intro": 8.0,
        "constructor": 6.0,
        "left/right": 1.5,
        "push_neg": 1.0,
        "rcases": 3.0,
        "subst": 3.0,
    }
)
"""Prior weight of each rule; 0 disables a rule. Keys name rules, not always literal tactics."""

_NUMBER_TYPES = ("ℕ", "ℤ", "ℚ", "ℝ", "ℂ")
_IDENT = re.compile(r"[^\W\d][\w'✝!?.]*")
_NUMERAL = re.compile(r"\d+")
_RELATIONS = (" = ", " ≠ ", " ≤ ", " < ", " ≥ ", " > ")
_ORDER = (" ≤ ", " < ", " ≥ ", " > ")
_BINDER_PREDICATE = re.compile(r"\s(?:∈|∉|≥|≤|>|<|≠|⊆|⊂)\s")
_DECIDE_LIMIT = 1000


def _main_connective(prop: str) -> str | None:
    """The loosest-binding logical connective at the top of ``prop``, if any."""
    if prop.startswith(("∀", "∃", "¬")):
        return prop[0]
    for op in ("↔", "→", "∨", "∧"):
        if len(split_top(prop, f" {op} ")) > 1:
            return op
    return None


def _binder_names(prop: str) -> list[str]:
    """Names bound by a leading ∀/∃: ``∀ (x y : ℝ) (n : ℕ),`` or ``∃ x,`` or ``∀ n ≥ 5,`` (adds a hypothesis slot)."""
    head = split_top(prop[1:], ",")[0].strip()
    groups = re.findall(r"[({⦃\[]([^:()]*?)\s*:", head) if head[:1] in "({⦃[" else [head]
    names: list[str] = []
    for group in groups:
        predicate = _BINDER_PREDICATE.search(f" {group} ")
        bare = group[: max(predicate.start() - 1, 0)] if predicate else group.split(":")[0]
        names += [name for name in bare.split() if _IDENT.fullmatch(name)]
        if predicate:
            names.append("")  # the binder predicate becomes a hypothesis to name
    return names


def _name_all(names: Sequence[str], taken: set[str]) -> list[str]:
    """Keep given names (shadowing is fine), invent fresh ``h`` names for the empty slots."""
    return [name or fresh_name("h", taken) for name in names]


@dataclass(frozen=True)
class _Shape:
    """Facts about a goal the boosts and structural rules depend on."""

    goal: ParsedGoal
    connective: str | None
    relation: str | None
    locals_in_target: frozenset[str]
    numerals: tuple[int, ...]

    @classmethod
    def of(cls, goal: ParsedGoal) -> "_Shape":
        target = goal.target
        connective = _main_connective(target)
        relation = None if connective else next((r for r in _RELATIONS if len(split_top(target, r)) > 1), None)
        idents = frozenset(_IDENT.findall(target)) & goal.names
        numerals = tuple(int(n) for n in _NUMERAL.findall(target))
        return cls(goal, connective, relation, idents, numerals)

    @property
    def closed(self) -> bool:
        """No local variable occurs and nothing is bound at the top: an evaluation problem."""
        return bool(self.goal.target) and not self.locals_in_target and self.connective not in ("∀", "∃", "→")

    @property
    def integer_linear(self) -> bool:
        types = self.goal.variable_types()
        target = self.goal.target
        return (
            self.relation is not None
            and all(types.get(name) in ("ℕ", "ℤ") for name in self.locals_in_target)
            and set(_IDENT.findall(target)) <= self.goal.names  # no functions, sums, casts' targets
            and not any(sym in target for sym in ("^", "↑", "√"))
            and not re.search(r"[^\W\d][\w']* \* [^\W\d]", target)
        )

    @property
    def ordered_field(self) -> bool:
        types = self.goal.variable_types()
        return any(types.get(name) in ("ℝ", "ℚ") for name in self.locals_in_target)


@dataclass(frozen=True)
class AutomationConfig:
    """Tunable scores: ``priors`` per rule (see ``DEFAULT_PRIORS``), ``boost`` for shape matches."""

    priors: Mapping[str, float] = field(default_factory=lambda: DEFAULT_PRIORS)
    boost: float = 4.0
    max_square_hints: int = 3

    def __post_init__(self) -> None:
        unknown = set(self.priors) - set(DEFAULT_PRIORS)
        if unknown:
            raise ValueError(f"unknown automation rules {sorted(unknown)}; known: {sorted(DEFAULT_PRIORS)}")
        object.__setattr__(self, "priors", MappingProxyType({**DEFAULT_PRIORS, **self.priors}))


def _automation(shape: _Shape, config: AutomationConfig) -> Iterator[tuple[str, str, bool]]:
    """``(rule, tactic, boosted)`` for the automation tactics."""
    target, relation = shape.goal.target, shape.relation
    has_facts = any(True for _ in shape.goal.facts())
    small = all(n <= _DECIDE_LIMIT for n in shape.numerals)
    yield "norm_num", "norm_num", shape.closed
    yield "linarith", "linarith", relation in _ORDER and has_facts
    yield "nlinarith", "nlinarith", relation in _ORDER and ("^" in target or "*" in target)
    yield "omega", "omega", shape.integer_linear
    sign_goal = target.startswith(("0 < ", "0 ≤ ")) or target.endswith(" ≠ 0")
    yield "positivity", "positivity", shape.connective is None and sign_goal
    yield "ring_nf", "ring_nf", relation == " = " and not has_facts
    yield "field_simp", "field_simp", "/" in target
    yield "decide", "decide", shape.closed and small
    yield "simp", "simp", False
    yield "aesop", "aesop", False
    yield "simp_all", "simp_all", False
    yield "norm_num [*]", "norm_num [*]", any(" = " in prop for _, prop in shape.goal.facts())
    if relation in _ORDER and shape.ordered_field:
        names = sorted(shape.locals_in_target)[: config.max_square_hints]
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
        terms = [f"sq_nonneg ({a} - {b})" for a, b in pairs] or [f"sq_nonneg {a}" for a in names]
        yield "nlinarith [sq_nonneg ...]", f"nlinarith [{', '.join(terms)}]", "^" in target


def _structural(shape: _Shape) -> Iterator[tuple[str, str, bool]]:
    """``(rule, tactic, boosted)`` for moves read off the goal's shape; never boosted."""
    goal, taken = shape.goal, set(shape.goal.names)
    target = goal.target
    for name, prop in goal.facts():
        if prop == target:
            yield "exact", f"exact {name}", False
    if shape.connective == "∀":
        names = _name_all(_binder_names(target), taken)
        yield "intro", "intro " + " ".join(names) if names else "intro", False
    elif shape.connective == "→":
        premises = len(split_top(target, " → ")) - 1
        yield "intro", "intro " + " ".join(fresh_name("h", taken) for _ in range(premises)), False
    elif shape.connective == "¬":
        yield "intro", f"intro {fresh_name('h', taken)}", False
        yield "push_neg", "push_neg", False
    elif shape.connective in ("∧", "↔"):
        yield "constructor", "constructor", False
    elif shape.connective == "∨":
        yield "left/right", "left", False
        yield "left/right", "right", False
    yield from _hypothesis_moves(goal, taken)


def _hypothesis_moves(goal: ParsedGoal, taken: set[str]) -> Iterator[tuple[str, str, bool]]:
    variables = goal.variable_types()
    for name, prop in goal.facts():
        connective = _main_connective(prop)
        if connective == "∧":
            parts = split_top(prop, " ∧ ")
            pattern = ", ".join(fresh_name(f"{name}_{i}", taken) for i in range(1, len(parts) + 1))
            yield "rcases", f"obtain ⟨{pattern}⟩ := {name}", False
        elif connective == "∨":
            yield "rcases", f"rcases {name} with {name} | {name}", False
        elif connective == "∃":
            names = _name_all(_binder_names(prop), taken) + [fresh_name("h", taken)]
            yield "rcases", f"obtain ⟨{', '.join(names)}⟩ := {name}", False
        elif connective is None and len(sides := split_top(prop, " = ")) == 2:
            lhs, rhs = sides
            if any(side in variables and side not in _IDENT.findall(other) for side, other in ((lhs, rhs), (rhs, lhs))):
                yield "subst", f"subst {name}", False


class AutomationProposer:
    """``Proposer`` offering automation and shape-driven tactics with fixed, normalised priors.

    Candidates are distinct, best first, at most ``k``, in a deterministic order; ``logprob``
    is the log of the candidate's weight over the total weight of all candidates for that
    goal, and ``num_tokens`` is 0 (nothing is generated).
    """

    name = "automation"
    kind: ProposerKind = "tactic"

    def __init__(self, config: AutomationConfig | None = None) -> None:
        self.config = config or AutomationConfig()

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return [self.candidates(query.state.goals[0])[:k] if query.state.goals else [] for query in queries]

    def candidates(self, goal_text: str) -> list[Candidate]:
        """Every candidate for one pretty-printed goal, best first."""
        shape = _Shape.of(parse_goal(goal_text))
        weights: dict[str, float] = {}
        for rule, tactic, boosted in (*_structural(shape), *_automation(shape, self.config)):
            weight = self.config.priors[rule] * (self.config.boost if boosted else 1.0)
            if weight > 0 and weight > weights.get(tactic, 0.0):
                weights[tactic] = weight
        total = sum(weights.values())
        ranked = sorted(weights.items(), key=lambda item: -item[1])  # stable: ties keep rule order
        return [Candidate(text=tactic, logprob=math.log(weight / total)) for tactic, weight in ranked]
