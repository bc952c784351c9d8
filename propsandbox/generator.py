"""Seeded generator of propositional tautologies with reference tactic proofs.

Statements are drawn at random, kept only when they are classical tautologies (by
truth table), proved by a small goal-directed prover that writes ordinary Lean tactics
(intro, constructor, obtain/rcases, exact, apply, left/right, exfalso, by_cases), and
kept only when the sandbox accepts that proof.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import count
from typing import Iterator

from lean_env import Theorem
from propsandbox.environment import SandboxEnvironment
from propsandbox.syntax import (
    FALSE,
    TRUE,
    And,
    Atom,
    Bot,
    Formula,
    Iff,
    Imp,
    Not,
    Or,
    Top,
    atoms_of,
    evaluate,
    is_tautology,
    pp,
    truth_table_mask,
)

__all__ = ["ATOM_NAMES", "Difficulty", "GeneratedTheorem", "generate_theorems", "signature"]

ATOM_NAMES = ("p", "q", "r", "s", "t", "u")
_MAX_PROOF_LINES = 60
_MAX_FORMULA_CHARS = 90
_ATTEMPTS_PER_THEOREM = 5000
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Difficulty:
    """Shape of generated theorems: how many atoms, formula depth, shortest reference proof."""

    atoms: int
    depth: int
    min_proof_length: int

    def __post_init__(self) -> None:
        if not 1 <= self.atoms <= len(ATOM_NAMES):
            raise ValueError(f"atoms must be in 1..{len(ATOM_NAMES)}, got {self.atoms}")
        if self.depth < 1 or self.min_proof_length < 1:
            raise ValueError("depth and min_proof_length must be positive")


@dataclass(frozen=True)
class GeneratedTheorem:
    """A generated theorem and its reference proof, one tactic per element."""

    theorem: Theorem
    proof: tuple[str, ...]

    @property
    def proof_text(self) -> str:
        """The proof as one tactic script (what ``verify`` accepts)."""
        return "\n".join(self.proof)


def _random_formula(rng: random.Random, atoms: tuple[str, ...], depth: int) -> Formula:
    if depth <= 0 or rng.random() < 0.2:
        roll = rng.random()
        if roll < 0.03:
            return TRUE if rng.random() < 0.5 else FALSE
        return Atom(rng.choice(atoms))
    kind = rng.choices(("and", "or", "imp", "not", "iff"), weights=(3, 3, 4, 2, 1))[0]
    if kind == "not":
        return Not(_random_formula(rng, atoms, depth - 1))
    node = {"and": And, "or": Or, "imp": Imp, "iff": Iff}[kind]
    return node(_random_formula(rng, atoms, depth - 1), _random_formula(rng, atoms, depth - 1))


# ---------------------------------------------------------------------------- the prover


class _Prover:
    """Goal-directed classical prover writing a flat Lean tactic script (goals in Lean's order)."""

    def __init__(self, rng: random.Random, atoms: tuple[str, ...], first_name: int):
        self.rng = rng
        self.atoms = atoms
        self.full = (1 << (1 << len(atoms))) - 1
        self.masks: dict[Formula, int] = {}
        self.names = count(first_name)
        self.lines: list[str] = []

    def fresh(self) -> str:
        return "h" + str(next(self.names)).translate(_SUBSCRIPT)

    def mask(self, f: Formula) -> int:
        if f not in self.masks:
            self.masks[f] = truth_table_mask(f, self.atoms)
        return self.masks[f]

    def entails(self, ctx: list[tuple[str, Formula]], f: Formula) -> bool:
        m = self.full
        for _, h in ctx:
            m &= self.mask(h)
        return m & ~self.mask(f) & self.full == 0

    def emit(self, line: str) -> None:
        if len(self.lines) >= _MAX_PROOF_LINES:
            raise _TooLong
        self.lines.append(line)

    def prove(self, ctx: list[tuple[str, Formula]], target: Formula) -> None:
        if self.close(ctx, target):
            return
        if type(target) is not Bot and self.entails(ctx, FALSE):
            self.emit("exfalso")
            self.prove(ctx, FALSE)
            return
        for rule in (self.intro, self.split_target, self.split_hyp, self.choose_disjunct, self.apply_hyp,
                     self.modus_ponens, self.case_split):
            if rule(ctx, target):
                return
        self.evaluate(ctx, target)

    def close(self, ctx: list[tuple[str, Formula]], target: Formula) -> bool:
        for name, h in reversed(ctx):
            if h == target:
                self.emit(self.rng.choice((f"exact {name}", "assumption")))
                return True
        if type(target) is Top:
            self.emit(self.rng.choice(("trivial", "exact trivial")))
            return True
        for name, h in ctx:
            if type(h) is Bot:
                self.emit(self.rng.choice((f"exact False.elim {name}", "contradiction")))
                return True
        for name, h in ctx:
            if type(h) is Not:
                for other, g in ctx:
                    if g == h.arg:
                        self.emit(self.rng.choice((f"exact absurd {other} {name}", "contradiction")))
                        return True
        return False

    def intro(self, ctx, target) -> bool:
        if type(target) not in (Imp, Not):
            return False
        name = self.fresh()
        self.emit(f"intro {name}")
        premise, conclusion = (target.left, target.right) if type(target) is Imp else (target.arg, FALSE)
        self.prove(ctx + [(name, premise)], conclusion)
        return True

    def split_target(self, ctx, target) -> bool:
        if type(target) is And:
            parts = (target.left, target.right)
        elif type(target) is Iff:
            parts = (Imp(target.left, target.right), Imp(target.right, target.left))
        else:
            return False
        self.emit("constructor")
        for part in parts:
            self.prove(ctx, part)
        return True

    def split_hyp(self, ctx, target) -> bool:
        for i, (name, h) in enumerate(ctx):
            rest = ctx[:i] + ctx[i + 1:]
            if self.entails(rest, target):
                continue  # not needed for this goal
            if type(h) in (And, Iff):
                a, b = self.fresh(), self.fresh()
                fields = (h.left, h.right) if type(h) is And else (Imp(h.left, h.right), Imp(h.right, h.left))
                self.emit(self.rng.choice((f"obtain ⟨{a}, {b}⟩ := {name}", f"rcases {name} with ⟨{a}, {b}⟩")))
                self.prove(rest + [(a, fields[0]), (b, fields[1])], target)
                return True
            if type(h) is Or:
                a, b = self.fresh(), self.fresh()
                self.emit(self.rng.choice((f"rcases {name} with {a} | {b}", f"obtain {a} | {b} := {name}")))
                self.prove(rest + [(a, h.left)], target)
                self.prove(rest + [(b, h.right)], target)
                return True
        return False

    def choose_disjunct(self, ctx, target) -> bool:
        if type(target) is not Or:
            return False
        for side, part in (("left", target.left), ("right", target.right)):
            if self.entails(ctx, part):
                self.emit(side)
                self.prove(ctx, part)
                return True
        return False

    def apply_hyp(self, ctx, target) -> bool:
        for name, h in ctx:
            others = [(n, g) for n, g in ctx if n != name]
            if self.entails(others, FALSE):
                continue
            premises, conclusion = _chain(h)
            for k in range(1, len(premises) + 1):
                if conclusion[k] == target and all(self.entails(others, p) for p in premises[:k]):
                    self.emit(f"apply {name}")
                    for p in premises[:k]:
                        self.prove(others, p)
                    return True
            if type(h) is Not and self.entails(others, h.arg):
                if type(target) is not Bot:
                    self.emit("exfalso")
                self.emit(f"apply {name}")
                self.prove(others, h.arg)
                return True
        return False

    def modus_ponens(self, ctx, target) -> bool:
        for name, h in ctx:
            if type(h) is not Imp:
                continue
            for other, g in ctx:
                if g == h.left:
                    new = self.fresh()
                    self.emit(self.rng.choice((f"have {new} := {name} {other}",
                                               f"have {new} : {pp(h.right)} := {name} {other}")))
                    self.prove([c for c in ctx if c[0] != name] + [(new, h.right)], target)
                    return True
        return False

    def case_split(self, ctx, target) -> bool:
        if type(target) is Or:
            name = self.fresh()
            self.emit(f"by_cases {name} : {pp(target.left)}")
            self.emit("left")
            self.emit(f"exact {name}")
            self.emit("right")
            self.prove(ctx + [(name, Not(target.left))], target.right)
            return True
        decided = {h.name if type(h) is Atom else h.arg.name for _, h in ctx
                   if type(h) is Atom or (type(h) is Not and type(h.arg) is Atom)}
        mentioned = set().union(atoms_of(target), *(atoms_of(h) for _, h in ctx))
        open_atoms = sorted(mentioned - decided)
        if not open_atoms:
            return False
        name = self.fresh()
        atom = Atom(open_atoms[0])
        self.emit(f"by_cases {name} : {atom.name}")
        self.prove(ctx + [(name, atom)], target)
        self.prove(ctx + [(name, Not(atom))], target)
        return True

    def evaluate(self, ctx, target) -> None:
        """Every atom is decided by a hypothesis: close the goal with an explicit term."""
        values = {}
        for name, h in ctx:
            if type(h) is Atom:
                values[h.name] = (name, True)
            elif type(h) is Not and type(h.arg) is Atom:
                values[h.arg.name] = (name, False)
        terms = _Terms(values, self.fresh)
        if terms.value(target):
            self.emit(f"exact {terms.proof(target)}")
            return
        for name, h in ctx:
            if not terms.value(h):
                self.emit(f"exact absurd {name} {_arg(terms.refutation(h))}")
                return
        raise AssertionError("evaluate called on a non-entailed goal")


class _TooLong(Exception):
    """The reference proof would exceed the length budget."""


def _chain(f: Formula) -> tuple[list[Formula], list[Formula]]:
    """Premises of an implication chain and the conclusion after each prefix of them."""
    premises, conclusions = [], [f]
    while type(f) is Imp:
        premises.append(f.left)
        f = f.right
        conclusions.append(f)
    return premises, conclusions


def _arg(term: str) -> str:
    return term if term.replace(".", "").replace("_", "").isalnum() or term[0] == "⟨" else f"({term})"


class _Terms:
    """Proof terms of true formulas and refutations of false ones under decided atoms."""

    def __init__(self, values: dict[str, tuple[str, bool]], fresh):
        self.values = values
        self.fresh = fresh

    def value(self, f: Formula) -> bool:
        return evaluate(f, {atom: holds for atom, (_, holds) in self.values.items()})

    def proof(self, f: Formula) -> str:
        cls = type(f)
        if cls is Atom:
            return self.values[f.name][0]
        if cls is Top:
            return "trivial"
        if cls is Not:
            return self.refutation(f.arg)
        if cls is And:
            return f"⟨{self.proof(f.left)}, {self.proof(f.right)}⟩"
        if cls is Or:
            side = "inl" if self.value(f.left) else "inr"
            return f"Or.{side} {_arg(self.proof(f.left if side == 'inl' else f.right))}"
        if cls is Imp:
            n = self.fresh()
            if not self.value(f.left):
                return f"fun {n} => absurd {n} {_arg(self.refutation(f.left))}"
            return f"fun _ => {self.proof(f.right)}"
        return f"⟨{self.proof(Imp(f.left, f.right))}, {self.proof(Imp(f.right, f.left))}⟩"

    def refutation(self, f: Formula) -> str:
        """A proof of ``¬f`` for a false ``f``."""
        cls = type(f)
        if cls is Atom:
            return self.values[f.name][0]
        n = self.fresh()
        if cls is Bot:
            return f"fun {n} => {n}"
        if cls is Not:
            return f"fun {n} => {n} {_arg(self.proof(f.arg))}"
        if cls is And:
            bad, proj = (f.left, "1") if not self.value(f.left) else (f.right, "2")
            return f"fun {n} => {_arg(self.refutation(bad))} {n}.{proj}"
        if cls is Or:
            return f"fun {n} => Or.elim {n} {_arg(self.refutation(f.left))} {_arg(self.refutation(f.right))}"
        if cls is Imp:
            return f"fun {n} => {_arg(self.refutation(f.right))} ({n} {_arg(self.proof(f.left))})"
        forward = self.value(f.left)  # Iff: exactly one side holds
        side, holds, fails = ("mp", f.left, f.right) if forward else ("mpr", f.right, f.left)
        return f"fun {n} => {_arg(self.refutation(fails))} ({n}.{side} {_arg(self.proof(holds))})"


# ---------------------------------------------------------------------------- generation


def _statement(name: str, *, atoms: tuple[str, ...], hyps: list[Formula], target: Formula) -> str:
    binders = f"({' '.join(atoms)} : Prop)"
    for i, h in enumerate(hyps):
        binders += f" (h{str(i).translate(_SUBSCRIPT)} : {pp(h)})"
    return f"theorem {name} {binders} : {pp(target)} := by"


def signature(statement: str) -> str:
    """The statement without its keyword and name: what makes two theorems the same."""
    return statement.split(" ", 2)[2]


def _candidates(rng: random.Random, difficulty: Difficulty) -> Iterator[tuple[list[Formula], Formula]]:
    pool = ATOM_NAMES[:difficulty.atoms]
    while True:
        n_hyps = rng.choices((0, 1, 2, 3), weights=(4, 3, 2, 1))[0]
        hyps = [_random_formula(rng, pool, max(1, difficulty.depth - 1)) for _ in range(n_hyps)]
        yield hyps, _random_formula(rng, pool, difficulty.depth)


def _attempt(rng: random.Random, difficulty: Difficulty, *, hyps: list[Formula],
             target: Formula) -> tuple[tuple[str, ...], list[str]] | None:
    """Reference proof lines and the atoms used, or None when the candidate is unsuitable."""
    if type(target) in (Top, Atom) or any(h == target for h in hyps):
        return None
    if max(len(pp(f)) for f in hyps + [target]) > _MAX_FORMULA_CHARS:
        return None
    atoms = tuple(a for a in ATOM_NAMES if a in set().union(atoms_of(target), *map(atoms_of, hyps)))
    if not atoms:
        return None
    conj = TRUE
    for h in hyps:
        conj = And(h, conj)
    full = (1 << (1 << len(atoms))) - 1
    if truth_table_mask(Imp(conj, target), atoms) != full:
        return None
    if hyps and truth_table_mask(conj, atoms) == 0 and rng.random() < 0.8:
        return None  # inconsistent hypotheses: keep only a few of those
    prover = _Prover(rng, atoms, len(hyps))
    try:
        prover.prove([("h" + str(i).translate(_SUBSCRIPT), h) for i, h in enumerate(hyps)], target)
    except _TooLong:
        return None
    if len(prover.lines) < difficulty.min_proof_length:
        return None
    return tuple(prover.lines), list(atoms)


def generate_theorems(count: int, *, seed: int, difficulty: Difficulty, split: str = "gen",
                      start: int = 1, exclude: frozenset[str] = frozenset()) -> list[GeneratedTheorem]:
    """``count`` distinct tautologies named ``sb_<split>_<index>`` (from ``start``), each with a
    reference proof checked by the sandbox. Deterministic in ``seed``; statements whose
    signature is in ``exclude`` are skipped (to keep splits disjoint)."""
    rng = random.Random(seed)
    env = SandboxEnvironment()
    seen = set(exclude)
    out: list[GeneratedTheorem] = []
    attempts = 0
    for hyps, target in _candidates(rng, difficulty):
        if len(out) == count:
            break
        attempts += 1
        if attempts > _ATTEMPTS_PER_THEOREM * (count + 1):
            raise RuntimeError(f"could not generate {count} theorems for {difficulty}")
        made = _attempt(rng, difficulty, hyps=hyps, target=target)
        if made is None:
            continue
        proof, atoms = made
        name = f"sb_{split}_{start + len(out):04d}"
        statement = _statement(name, atoms=tuple(atoms), hyps=hyps, target=target)
        if signature(statement) in seen:
            continue
        theorem = Theorem(name=name, statement=statement, split=split, source="sandbox")
        if not env.verify_sync(theorem, "\n".join(proof)).ok:
            continue
        seen.add(signature(statement))
        out.append(GeneratedTheorem(theorem, proof))
    return out
