"""Goals and the meaning of tactics: a small, conservative model of Lean 4's behaviour
on propositional goals.

Goals are frozen values, so a tuple of them is a complete, hashable proof state.
Definitional equality is structural equality modulo ``¬a ≡ a → False`` (the only
unfolding Lean performs on this fragment). A ``TacticFailure`` is raised only where
Lean certainly fails; where the sandbox cannot tell, ``OutsideFragment`` is raised, so
combinators such as ``try`` never hide a step Lean would have taken.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from itertools import count

from lean_env import StatementError
from lean_env.goals import parse_goal as parse_goal_text
from propsandbox.cache import byte_bounded_cache
from propsandbox.syntax import (
    FALSE,
    OUTSIDE,
    TRUE,
    And,
    Atom,
    Bot,
    Formula,
    Iff,
    Imp,
    Not,
    Or,
    Statement,
    SyntaxFault,
    Top,
    TokenStream,
    atoms_of,
    evaluate,
    map_leaves,
    parse_formula_tokens,
    pp,
    subformulas,
    tokenize,
)
from propsandbox.tactics import (
    Anon,
    App,
    Apply,
    Basic,
    ByCases,
    ByContra,
    CaseTac,
    Cases,
    Combinator,
    Exact,
    First,
    Focus,
    Fun,
    Have,
    Intro,
    PAlts,
    Pattern,
    PName,
    Proj,
    PTuple,
    RCases,
    Ref,
    Seq,
    Tactic,
    Term,
    Then,
    parse_tactics,
)

__all__ = [
    "Hyp",
    "Goal",
    "TacticFailure",
    "OutsideFragment",
    "ResourceLimit",
    "Interrupted",
    "WorkLimits",
    "Meter",
    "initial_goal",
    "render",
    "parse_goal",
    "defeq",
    "run_script",
]


@dataclass(frozen=True, slots=True)
class Hyp:
    """A local declaration: a ``Prop`` variable (``type is None``, atom id ``atom``) or a
    hypothesis. Inaccessible ones (``a✝``) cannot be named by tactics."""

    name: str
    type: Formula | None
    accessible: bool = True
    atom: str = ""


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal: local context, target and case tag (``""`` when untagged). Its hash is
    computed once (goals key the render cache, and hashing one walks every formula in it)."""

    hyps: tuple[Hyp, ...]
    target: Formula
    tag: str = ""
    _hash: int = field(default=0, init=False, compare=False, repr=False)

    def __hash__(self) -> int:
        cached = self._hash
        if not cached:
            cached = hash((self.hyps, self.target, self.tag)) or 1
            object.__setattr__(self, "_hash", cached)
        return cached


class TacticFailure(Exception):
    """Lean would report this error for the tactic. ``position``: (line from 1, column from 0) in the tactic text, when known."""

    def __init__(self, message: str, position: tuple[int, int] | None = None):
        super().__init__(message)
        self.message, self.position = message, position


class OutsideFragment(Exception):
    """The tactic is valid Lean (or may be) but beyond what the sandbox decides. ``position``: (line from 1, column from 0) in the tactic text, when known."""

    def __init__(self, message: str, position: tuple[int, int] | None = None):
        super().__init__(message)
        self.message, self.position = message, position


class ResourceLimit(OutsideFragment):
    """The tactic needs more work or memory than one sandbox call may use (``WorkLimits``).
    Lean's own limits differ, so whether Lean accepts it is beyond what the sandbox decides.
    ``allowance`` marks a reduced allowance running out (``Meter(allowance=...)``): the
    call may still succeed under the full limits."""

    def __init__(self, message: str, *, allowance: bool = False):
        super().__init__(f"resource limit: {message}")
        self.allowance = allowance


class Interrupted(Exception):
    """The call passed its deadline or was told to stop; its result is no longer wanted."""


@dataclass(frozen=True)
class WorkLimits:
    """What one sandbox call (one step, or the check of a whole proof) may do.

    ``work`` counts a unit per tactic run, per goal it produces and per formula node that
    elaboration builds; ``goals`` bounds the open goals at any point, ``hyps`` the
    hypotheses of one goal, ``formula`` the nodes of one elaborated formula and ``rendered``
    the characters of the resulting goals as Lean prints them. Propositional proofs stay far
    below every bound; tactics that multiply goals or formulas (``repeat all_goals by_cases
    h : p``) reach one within milliseconds, where they would otherwise eat all memory.
    """

    work: int = 200_000
    goals: int = 256
    hyps: int = 256
    formula: int = 10_000
    rendered: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("work", "goals", "hyps", "formula", "rendered"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WorkLimits.{name} must be a positive integer, got {value!r}")


_CLOCK_EVERY = 256
"""Work units between two looks at the deadline and the stop flag."""


class Meter:
    """Charges one call's work against ``WorkLimits``: raises ``ResourceLimit`` past a bound,
    and ``Interrupted`` once ``timeout`` seconds have passed or ``stop`` is set, so a call
    running in a worker thread ends soon after it is abandoned. ``allowance`` caps the work
    below ``limits.work`` (a first, cheap try). The clock and the flag are read every
    ``_CLOCK_EVERY`` units (a fraction of a millisecond), the timeout counted from the first
    reading: most calls never read the clock."""

    __slots__ = ("limits", "left", "look_at", "_allowance", "_timeout", "_deadline", "_stop")

    def __init__(self, limits: WorkLimits = WorkLimits(), *, allowance: int | None = None,
                 timeout: float | None = None, stop: threading.Event | None = None):
        self.limits = limits
        self._allowance = allowance is not None and allowance < limits.work
        self.left = allowance if self._allowance else limits.work
        self.look_at = self.left - _CLOCK_EVERY if self.left > _CLOCK_EVERY else 0
        self._timeout = timeout
        self._deadline: float | None = None  # set at the first look: most calls never need the clock
        self._stop = stop

    def charge(self, units: int) -> None:
        """Spend ``units`` of work."""
        self.left -= units
        if self.left < self.look_at:
            self.look()

    def look(self) -> None:
        """What ``charge`` does once ``left`` drops below ``look_at`` (hot paths decrement
        ``left`` themselves): the work bound, the deadline and the stop flag."""
        if self.left < 0:
            raise ResourceLimit(f"the tactic needs more than {self.limits.work} units of work", allowance=self._allowance)
        self.look_at = self.left - _CLOCK_EVERY if self.left > _CLOCK_EVERY else 0
        if self._timeout is not None:
            now = time.monotonic()
            if self._deadline is None:
                self._deadline = now + self._timeout
            elif now > self._deadline:
                raise Interrupted("deadline passed")
        if self._stop is not None and self._stop.is_set():
            raise Interrupted("stopped")

    def produced(self, new: "list[Goal]", others: int) -> None:
        """Account for the ``new`` goals one tactic made, beside ``others`` goals still open."""
        if new:
            self.left -= len(new)
            if self.left < self.look_at:
                self.look()
            if len(new) + others > self.limits.goals:
                self.open_goals(len(new) + others)
            limit = self.limits.hyps
            for goal in new:
                if len(goal.hyps) > limit:
                    raise ResourceLimit(f"a goal would have more than {limit} hypotheses")

    def open_goals(self, total: int) -> None:
        """Check the number of goals open at once."""
        if total > self.limits.goals:
            raise ResourceLimit(f"the tactic makes more than {self.limits.goals} goals")

    def formula(self, f: Formula) -> Formula:
        """Charge the nodes of a formula elaboration built; refuse one past ``limits.formula``."""
        limit = self.limits.formula
        size, stack = 0, [f]
        while stack and size <= limit:
            g = stack.pop()
            size += 1
            cls = type(g)
            if cls is Not:
                stack.append(g.arg)
            elif cls in (And, Or, Imp, Iff):
                stack.append(g.left)
                stack.append(g.right)
        self.charge(size)
        if size > limit:
            raise ResourceLimit(f"a formula would have more than {limit} connectives and atoms")
        return f

    def rendered(self, chars: int) -> None:
        """Charge rendered goal text (a unit per 64 characters) and refuse a result past ``limits.rendered``."""
        self.charge(chars >> 6)
        if chars > self.limits.rendered:
            raise ResourceLimit(f"the goals would print as more than {self.limits.rendered} characters")


def initial_goal(statement: Statement) -> Goal:
    """The root goal of a parsed statement."""
    hyps = tuple(Hyp(b.name, None, True, b.name) if b.type is None else Hyp(b.name, b.type)
                 for b in statement.binders)
    return Goal(hyps, statement.conclusion)


# ---------------------------------------------------------------------------- rendering

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _display_names(hyps: tuple[Hyp, ...]) -> list[str]:
    """Lean's name sanitizer: from the newest declaration back, inaccessible or shadowed
    names become ``n✝``, ``n✝¹``, … (one counter per base name)."""
    seen: set[str] = set()
    counters: dict[str, int] = {}
    out = [""] * len(hyps)
    for i in range(len(hyps) - 1, -1, -1):
        h = hyps[i]
        if h.accessible and h.name not in seen:
            out[i] = h.name
            seen.add(h.name)
            continue
        k = counters.get(h.name, 0)
        counters[h.name] = k + 1
        out[i] = h.name + "✝" + (str(k).translate(_SUPERSCRIPT) if k else "")
    return out


_RENDER_CACHE_BYTES = 32 << 20


@byte_bounded_cache(_RENDER_CACHE_BYTES, lambda goal, text: 256 + 16 * len(text))
def render(goal: Goal) -> str:
    """The goal exactly as Lean 4 prints it (``case`` line, grouped hypotheses, ``⊢``)."""
    names = _display_names(goal.hyps)
    atoms = {h.atom: n for h, n in zip(goal.hyps, names) if h.type is None and h.atom != n}
    atoms_map = atoms or None
    lines = [f"case {goal.tag}"] if goal.tag else []
    i, hyps = 0, goal.hyps
    while i < len(hyps):
        j = i + 1
        while j < len(hyps) and hyps[j].type == hyps[i].type:
            j += 1
        ty = hyps[i].type
        lines.append(" ".join(names[i:j]) + " : " + ("Prop" if ty is None else pp(ty, atoms_map)))
        i = j
    lines.append("⊢ " + pp(goal.target, atoms_map))
    return "\n".join(lines)


def parse_goal(text: str) -> Goal:
    """Rebuild a goal from Lean's rendering of it (inverse of ``render``); raises
    ``StatementError`` when the text is not a goal of the fragment."""
    parsed = parse_goal_text(text, strict=True)
    hyps: list[Hyp] = []
    props: set[str] = set()
    for number, hyp in enumerate(parsed.hypotheses, 1):
        if hyp.value is not None:
            raise StatementError("a 'let' value (':=') is outside the fragment", number, 1)
        if hyp.type == "Prop":
            props.update(hyp.names)
            hyps.extend(Hyp(_base(n), None, "✝" not in n, n) for n in hyp.names)
        else:
            f = _goal_formula(hyp.type, props, number)
            hyps.extend(Hyp(_base(n), f, "✝" not in n) for n in hyp.names)
    target = _goal_formula(parsed.target, props, len(parsed.hypotheses) + 1)
    return Goal(tuple(hyps), target, parsed.case or "")


def _base(display: str) -> str:
    return display.split("✝", 1)[0]


def _goal_formula(text: str, props: set[str], line: int) -> Formula:
    try:
        ts = TokenStream(tokenize(text))
        f = parse_formula_tokens(ts)
        if ts.peek().kind != "eof":
            raise SyntaxFault(f"unexpected token '{ts.peek().text}'")
    except SyntaxFault as fault:
        raise StatementError(fault.message, line, fault.column or 1) from None
    except RecursionError:
        raise StatementError("formula nested too deeply", line, 1) from None
    unknown = sorted(atoms_of(f) - props)
    if unknown:
        raise StatementError(f"unknown identifier '{unknown[0]}'", line, 1)
    return f


# ---------------------------------------------------------------------------- definitional equality


@dataclass(frozen=True, slots=True)
class _Meta(Formula):
    """A metavariable standing for an unknown proposition during elaboration."""

    id: int


def _unfold(f: Formula) -> tuple[Formula, int]:
    """``f`` with every ``¬a`` unfolded to ``a → False`` (``f`` itself when it has no ``¬``),
    and its number of nodes."""
    cls = type(f)
    if cls is Not:
        arg, size = _unfold(f.arg)
        return Imp(arg, FALSE), size + 1
    if cls in (And, Or, Imp, Iff):
        (left, n), (right, m) = _unfold(f.left), _unfold(f.right)
        return (f if left is f.left and right is f.right else cls(left, right)), n + m + 1
    return f, 1


_NF_CACHE_BYTES = 32 << 20


@byte_bounded_cache(_NF_CACHE_BYTES, lambda f, unfolded: 256 + 128 * unfolded[1])
def _nf(f: Formula) -> tuple[Formula, int]:
    """``_unfold`` memoised, each entry costed by the nodes its key and value hold."""
    return _unfold(f)


def defeq(a: Formula, b: Formula) -> bool:
    """Definitional equality on the fragment: syntactic up to unfolding ``¬``."""
    return a == b or _nf(a)[0] == _nf(b)[0]


def _arrow(f: Formula) -> tuple[Formula, Formula] | None:
    """``f`` as ``dom → cod`` after unfolding ``¬`` (Lean's ``whnf``), else ``None``."""
    cls = type(f)
    if cls is Imp:
        return f.left, f.right
    if cls is Not:
        return f.arg, FALSE
    return None


def _walk(f: Formula, s: dict[int, Formula]) -> Formula:
    while type(f) is _Meta and f.id in s:
        f = s[f.id]
    return f


def _inst(f: Formula, s: dict[int, Formula]) -> Formula:
    """``f`` with the assigned metavariables of ``s`` substituted, recursively."""
    def resolve(leaf: Formula) -> Formula:
        if type(leaf) is not _Meta:
            return leaf
        g = _walk(leaf, s)
        return g if type(g) is _Meta else _inst(g, s)
    return map_leaves(f, resolve) if _has_meta(f) else f


def _has_meta(f: Formula) -> bool:
    return any(type(g) is _Meta for g in subformulas(f))


def _unify(a: Formula, b: Formula, s: dict[int, Formula]) -> bool:
    a, b = _walk(a, s), _walk(b, s)
    if a == b:
        return True
    if type(a) is _Meta or type(b) is _Meta:
        meta, other = (a, b) if type(a) is _Meta else (b, a)
        other = _inst(other, s)
        if _occurs(meta.id, other):
            return False
        s[meta.id] = other
        return True
    if type(a) is Not:
        a = Imp(a.arg, FALSE)
    if type(b) is Not:
        b = Imp(b.arg, FALSE)
    cls = type(a)
    if cls is not type(b):
        return False
    if cls is Atom:
        return a.name == b.name
    if cls in (Top, Bot):
        return True
    return _unify(a.left, b.left, s) and _unify(a.right, b.right, s)


def _occurs(mid: int, f: Formula) -> bool:
    return any(type(g) is _Meta and g.id == mid for g in subformulas(f))


# ---------------------------------------------------------------------------- elaboration

_A, _B, _C = Atom("?0"), Atom("?1"), Atom("?2")
# name -> (number of implicit Prop arguments ?0.., explicit (binder, type) params, result)
_GLOBALS: dict[str, tuple[int, tuple[tuple[str, Formula], ...], Formula]] = {
    "trivial": (0, (), TRUE),
    "True.intro": (0, (), TRUE),
    "id": (1, (("a", _A),), _A),
    "absurd": (2, (("h₁", _A), ("h₂", Not(_A))), _B),
    "False.elim": (1, (("h", FALSE),), _A),
    "Or.inl": (2, (("h", _A),), Or(_A, _B)),
    "Or.inr": (2, (("h", _B),), Or(_A, _B)),
    "Or.elim": (3, (("h", Or(_A, _B)), ("left", Imp(_A, _C)), ("right", Imp(_B, _C))), _C),
    "And.intro": (2, (("left", _A), ("right", _B)), And(_A, _B)),
    "And.left": (2, (("self", And(_A, _B)),), _A),
    "And.right": (2, (("self", And(_A, _B)),), _B),
    "Iff.intro": (2, (("mp", Imp(_A, _B)), ("mpr", Imp(_B, _A))), Iff(_A, _B)),
    "Iff.mp": (2, (("self", Iff(_A, _B)),), Imp(_A, _B)),
    "Iff.mpr": (2, (("self", Iff(_A, _B)),), Imp(_B, _A)),
    "Iff.rfl": (1, (), Iff(_A, _A)),
    "Classical.byContradiction": (1, (("h", Imp(Not(_A), FALSE)),), _A),
}
# Root-namespace constants of Lean/Mathlib that look like local names: an unknown
# identifier is only a certain error when it is none of these.
_REAL_GLOBALS = frozenset({"mt", "em", "rfl", "not", "and", "or", "xor", "cast", "congr", "congrArg",
                           "congrFun", "funext", "propext", "default", "decide", "ite", "dite",
                           "inferInstance", "nofun", "nomatch", "show", "imp", "iff"})
_PROJECTIONS = {
    (And, "1"): lambda f: f.left, (And, "left"): lambda f: f.left,
    (And, "2"): lambda f: f.right, (And, "right"): lambda f: f.right,
    (Iff, "1"): lambda f: Imp(f.left, f.right), (Iff, "mp"): lambda f: Imp(f.left, f.right),
    (Iff, "2"): lambda f: Imp(f.right, f.left), (Iff, "mpr"): lambda f: Imp(f.right, f.left),
}


def _lookup(hyps: tuple[Hyp, ...] | list[Hyp], name: str) -> Hyp | None:
    for h in reversed(hyps):
        if h.accessible and h.name == name:
            return h
    return None


def _unknown(name: str) -> Exception:
    if "." not in name and "_" not in name and name[:1].islower() and name not in _REAL_GLOBALS:
        return TacticFailure(f"unknown identifier '{name}'")
    return OutsideFragment(f"'{name}' is neither a hypothesis nor a constant the sandbox knows; {OUTSIDE}")


def _resolve_formula(f: Formula, hyps: tuple[Hyp, ...] | list[Hyp]) -> Formula:
    """Bind the atoms of a formula written in a tactic to the ``Prop`` variables in scope."""
    def bind(leaf: Formula) -> Formula:
        if type(leaf) is not Atom:
            return leaf
        h = _lookup(hyps, leaf.name)
        if h is None:
            raise _unknown(leaf.name)
        if h.type is not None:
            raise TacticFailure(f"type expected, got\n  ({leaf.name} : {pp(h.type)})")
        return Atom(h.atom)
    return map_leaves(f, bind)


class _Elab:
    """Bidirectional type checking of proof terms against a local context."""

    def __init__(self, goal: Goal):
        self.goal = goal
        self.hyps = list(goal.hyps)
        self.subst: dict[int, Formula] = {}
        self.fresh = count()

    def show(self, f: Formula) -> str:
        """``f`` as Lean would print it here, unknown propositions as ``?m.N``."""
        shown = map_leaves(_inst(f, self.subst), lambda g: Atom(f"?m.{g.id}") if type(g) is _Meta else g)
        return render(replace(self.goal, hyps=tuple(self.hyps), target=shown)).rsplit("⊢ ", 1)[1]

    def instantiate(self, name: str) -> tuple[int, list[str], Formula]:
        """A global's type with fresh metavariables, its explicit binder names and implicit count."""
        n_impl, params, result = _GLOBALS[name]
        metas = {f"?{i}": _Meta(next(self.fresh)) for i in range(n_impl)}
        ty = result
        for _, p in reversed(params):
            ty = Imp(p, ty)
        return n_impl, [b for b, _ in params], map_leaves(ty, lambda g: metas.get(g.name, g) if type(g) is Atom else g)

    def ref(self, name: str) -> Formula:
        h = _lookup(self.hyps, name)
        if h is not None:
            if h.type is None:
                raise TacticFailure(f"type mismatch: '{name}' is a proposition, not a proof of one")
            return h.type
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            h = _lookup(self.hyps, ".".join(parts[:k]))
            if h is not None and h.type is not None:
                ty = h.type
                for field in parts[k:]:
                    ty = self.project(ty, field)
                return ty
        if name in _GLOBALS:
            return self.instantiate(name)[2]
        raise _unknown(name)

    def project(self, ty: Formula, field: str) -> Formula:
        ty = _walk(ty, self.subst)
        if type(ty) is _Meta:
            raise OutsideFragment(f"projection '.{field}' of a term of unknown type is {OUTSIDE}")
        get = _PROJECTIONS.get((type(ty), field))
        if get is not None:
            return get(ty)
        if field.isdigit():
            if type(ty) in (And, Iff):
                raise TacticFailure(f"invalid projection, structure has only 2 field(s)\n  {self.show(ty)}")
            raise TacticFailure(f"invalid projection, structure expected\n  {self.show(ty)}")
        raise OutsideFragment(f"field notation '.{field}' on '{self.show(ty)}' is {OUTSIDE}")

    def infer(self, term: Term, expected: Formula | None = None) -> Formula:
        cls = type(term)
        if cls is Ref:
            return self.ref(term.name)
        if cls is Proj:
            return self.project(self.infer(term.term), term.field)
        if cls is App:
            return self.app(term, expected)
        raise OutsideFragment(f"this term needs a known expected type; {OUTSIDE}")

    def app(self, term: App, expected: Formula | None) -> Formula:
        fn_ty = self.infer(term.fn)
        if expected is not None:
            result = fn_ty
            for _ in term.args:
                arrow = _arrow(_walk(result, self.subst))
                if arrow is None:
                    break
                result = arrow[1]
            else:
                if not _unify(result, expected, self.subst):
                    raise self.mismatch(term, result, expected)
        cur = fn_ty
        for i, arg in enumerate(term.args):
            arrow = _arrow(_walk(cur, self.subst))
            if arrow is None:
                if type(_walk(cur, self.subst)) is _Meta:
                    raise OutsideFragment(f"applying a term of unknown type is {OUTSIDE}")
                head = _term_text(App(term.fn, term.args[:i]) if i else term.fn)
                raise TacticFailure(f"function expected\n  {head}\nterm has type\n  {self.show(cur)}")
            self.check(arg, arrow[0])
            cur = arrow[1]
        return cur

    def mismatch(self, term: Term, got: Formula, expected: Formula) -> TacticFailure:
        return TacticFailure(f"type mismatch\n  {_term_text(term)}\nhas type\n  {self.show(got)} : Prop\n"
                             f"but is expected to have type\n  {self.show(expected)} : Prop")

    def known(self, expected: Formula, what: str) -> Formula:
        ty = _walk(expected, self.subst)
        if _has_meta(_inst(ty, self.subst)):
            raise OutsideFragment(f"{what} against a partly unknown type is {OUTSIDE}")
        return _inst(ty, self.subst)

    def check(self, term: Term, expected: Formula) -> None:
        cls = type(term)
        if cls is Fun:
            self.check_fun(term, expected)
        elif cls is Anon:
            self.check_anon(term, expected)
        else:
            got = self.infer(term, expected)
            if not _unify(got, expected, self.subst):
                raise self.mismatch(term, got, expected)

    def check_fun(self, term: Fun, expected: Formula) -> None:
        ty = self.known(expected, "'fun'")
        depth = len(self.hyps)
        for name, ann in term.binders:
            arrow = _arrow(ty)
            if arrow is None:
                del self.hyps[depth:]
                raise TacticFailure(f"type mismatch: 'fun' where a proof of\n  {self.show(ty)}\nis expected")
            if ann is not None and not defeq(_resolve_formula(ann, self.hyps), arrow[0]):
                del self.hyps[depth:]
                raise TacticFailure(f"type mismatch in the binder '{name}' of 'fun'")
            self.hyps.append(Hyp(name or "x", arrow[0], name is not None))
            ty = arrow[1]
        try:
            self.check(term.body, ty)
        finally:
            del self.hyps[depth:]

    def check_anon(self, term: Anon, expected: Formula) -> None:
        ty = self.known(expected, "'⟨…⟩'")
        fields = _struct_fields(ty)
        if fields is None:
            raise TacticFailure("invalid constructor ⟨...⟩, expected type must be an inductive type "
                                f"with only one constructor \n  {self.show(ty)}")
        items = term.items
        if len(items) < len(fields) or (not fields and items):
            raise TacticFailure(f"invalid constructor ⟨...⟩, insufficient number of arguments, constructs "
                                f"'{_CTOR[type(ty)]}' has #{len(fields)} explicit fields, "
                                f"but only #{len(items)} provided")
        if len(items) > len(fields):
            items = items[:len(fields) - 1] + (Anon(items[len(fields) - 1:]),)
        for item, field in zip(items, fields):
            self.check(item, field)


_CTOR = {And: "And.intro", Iff: "Iff.intro", Top: "True.intro"}


def _struct_fields(ty: Formula) -> tuple[Formula, ...] | None:
    cls = type(ty)
    if cls is And:
        return ty.left, ty.right
    if cls is Iff:
        return Imp(ty.left, ty.right), Imp(ty.right, ty.left)
    if cls is Top:
        return ()
    return None


def _term_text(term: Term) -> str:
    cls = type(term)
    if cls is Ref:
        return term.name
    if cls is App:
        return " ".join(_term_text(t) if type(t) is Ref else f"({_term_text(t)})" for t in (term.fn, *term.args))
    if cls is Proj:
        return f"({_term_text(term.term)}).{term.field}"
    if cls is Anon:
        return "⟨" + ", ".join(_term_text(t) for t in term.items) + "⟩"
    return "fun " + " ".join(n or "_" for n, _ in term.binders) + " => " + _term_text(term.body)


# ---------------------------------------------------------------------------- tactics on one goal


def _child_tag(parent: str, name: str, new_goals: int) -> str:
    """Lean's ``apply`` tagging: one new goal inherits the tag, several get ``parent.name``."""
    if new_goals == 1:
        return parent
    return f"{parent}.{name}" if parent else name


def _intro(goal: Goal, names: tuple[str | None, ...], all_: bool) -> list[Goal]:
    hyps, target = list(goal.hyps), goal.target
    if all_:
        while type(target) is Imp:
            hyps.append(Hyp("a", target.left, False))
            target = target.right
        return [Goal(tuple(hyps), target, goal.tag)]
    for name in names:
        arrow = _arrow(target)
        if arrow is None:
            raise TacticFailure("tactic 'introN' failed, insufficient number of binders")
        hyps.append(Hyp(name or "a", arrow[0], name is not None))
        target = arrow[1]
    return [Goal(tuple(hyps), target, goal.tag)]


def _apply(goal: Goal, term: Term, meter: Meter) -> list[Goal]:
    el = _Elab(goal)
    names: list[str] = []
    n_impl = 0
    if type(term) is Ref and _lookup(goal.hyps, term.name) is None and term.name in _GLOBALS:
        n_impl, names, ty = el.instantiate(term.name)
    else:
        if type(term) is App and type(term.fn) is Ref and _lookup(goal.hyps, term.fn.name) is None \
                and term.fn.name in _GLOBALS:
            names = list(_GLOBALS[term.fn.name][1])[len(term.args):]
            names = [b for b, _ in names]
        ty = el.infer(term)
    premises: list[tuple[str, Formula]] = []
    suffixes = [ty]
    while (arrow := _arrow(_walk(suffixes[-1], el.subst))) is not None:
        premises.append((names[len(premises)] if len(premises) < len(names) else "a", arrow[0]))
        suffixes.append(arrow[1])
    n = len(premises)
    if type(_walk(suffixes[-1], el.subst)) is _Meta:
        candidates = [n]
    else:
        target_args, t = 0, goal.target
        while (arrow := _arrow(t)) is not None:
            target_args, t = target_args + 1, arrow[1]
        candidates = list(range(max(0, n - target_args), n + 1))
    for k in candidates:
        subst = dict(el.subst)
        if not _unify(suffixes[k], goal.target, subst):
            continue
        new_goals = []
        for binder, prem in premises[:k]:
            prem = meter.formula(_inst(prem, subst))
            if _has_meta(prem):
                raise OutsideFragment(f"'apply' leaving metavariables as goals is {OUTSIDE}")
            new_goals.append(Goal(goal.hyps, prem, _child_tag(goal.tag, binder, n_impl + k)))
        if any(type(_walk(_Meta(i), subst)) is _Meta for i in range(next(el.fresh))):
            raise OutsideFragment(f"'apply' leaving metavariables as goals is {OUTSIDE}")
        return new_goals
    raise TacticFailure(f"tactic 'apply' failed to unify\n  {el.show(suffixes[-1] if n else ty)}\n"
                        f"with\n  {el.show(goal.target)}")


def _exact(goal: Goal, term: Term) -> list[Goal]:
    _Elab(goal).check(term, goal.target)
    return []


def _have(goal: Goal, tac: Have, meter: Meter) -> list[Goal]:
    el = _Elab(goal)
    if tac.type is not None:
        ty = _resolve_formula(tac.type, goal.hyps)
        el.check(tac.term, ty)
    else:
        ty = meter.formula(_inst(el.infer(tac.term), el.subst))
        if _has_meta(ty):
            raise OutsideFragment(f"'have' with an undetermined type is {OUTSIDE}")
    return [Goal(goal.hyps + (Hyp(tac.name, ty),), goal.target, goal.tag)]


_CONSTRUCTORS = {  # target class -> [(new-goal binder, field getter)], implicit argument count
    And: ([("left", lambda f: f.left), ("right", lambda f: f.right)], 2),
    Iff: ([("mp", lambda f: Imp(f.left, f.right)), ("mpr", lambda f: Imp(f.right, f.left))], 2),
    Top: ([], 0),
}


def _constructor(goal: Goal) -> list[Goal]:
    t = goal.target
    if type(t) is Or:
        return _left_right(goal, "left")
    spec = _CONSTRUCTORS.get(type(t))
    if spec is None:
        if type(t) is Bot:
            raise TacticFailure("tactic 'constructor' failed, no applicable constructor found")
        raise TacticFailure("tactic 'constructor' failed, target is not an inductive datatype")
    fields, n_impl = spec
    return [Goal(goal.hyps, get(t), _child_tag(goal.tag, b, n_impl + len(fields))) for b, get in fields]


def _left_right(goal: Goal, which: str) -> list[Goal]:
    t = goal.target
    if type(t) is not Or:
        if type(t) in (And, Iff, Top, Bot):
            raise TacticFailure(f"tactic '{which}' failed, {which} tactic works for inductive types with "
                                "exactly 2 constructors")
        raise TacticFailure(f"tactic '{which}' failed, target is not an inductive datatype")
    return [Goal(goal.hyps, t.left if which == "left" else t.right, _child_tag(goal.tag, "h", 3))]


def _assumption_holds(goal: Goal) -> bool:
    return any(h.type is not None and defeq(h.type, goal.target) for h in goal.hyps)


def _contradiction_holds(goal: Goal) -> bool | None:
    """True if Lean's ``contradiction`` closes the goal, None when the sandbox cannot tell."""
    proofs = [h.type for h in goal.hyps if h.type is not None]
    if any(type(t) is Bot for t in proofs):
        return True
    unsure = False
    for t in proofs:
        if type(t) is Not and any(defeq(u, t.arg) for u in proofs):
            return True
        if type(t) is Imp and type(t.right) is Bot and any(defeq(u, t.left) for u in proofs):
            unsure = True
    return None if unsure else False


def _decide(goal: Goal) -> bool | None:
    """Lean's ``decide`` closes only variable-free true targets; those are left undecided here."""
    t = goal.target
    if not atoms_of(t) and evaluate(t, {}):
        return None
    return False


def _iff_refl(goal: Goal) -> bool:
    t = goal.target
    return type(t) is Iff and defeq(t.left, t.right)


def _trivial_holds(goal: Goal) -> bool | None:
    """Lean's ``trivial`` macro: assumption | rfl | contradiction | decide | True.intro |
    And.intro <;> trivial. None when only an undecided alternative could succeed."""
    t = goal.target
    if type(t) is Top or _assumption_holds(goal) or _iff_refl(goal):
        return True
    verdicts = [_contradiction_holds(goal), _decide(goal)]
    if type(t) is And:
        parts = [_trivial_holds(replace(goal, target=t.left)), _trivial_holds(replace(goal, target=t.right))]
        verdicts.append(False if False in parts else (True if all(parts) else None))
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _closing(name: str, verdict: bool | None, goal: Goal) -> list[Goal]:
    if verdict:
        return []
    if verdict is None:
        raise OutsideFragment(f"whether '{name}' closes this goal depends on Lean details beyond the sandbox; "
                              f"{OUTSIDE}")
    raise TacticFailure(f"tactic '{name}' failed\n{render(goal)}")


_FIELD_CTORS = {  # hypothesis class -> [(constructor, [(field name, getter)])]
    And: [("intro", [("left", lambda f: f.left), ("right", lambda f: f.right)])],
    Iff: [("intro", [("mp", lambda f: Imp(f.left, f.right)), ("mpr", lambda f: Imp(f.right, f.left))])],
    Or: [("inl", [("h", lambda f: f.left)]), ("inr", [("h", lambda f: f.right)])],
    Top: [("intro", [])],
    Bot: [],
}


def _split(goal: Goal, index: int, names: list[list[str | None]] | None = None) -> list[tuple[Goal, list[int]]]:
    """``cases`` on hypothesis ``index``: one goal per constructor, the hypothesis removed and
    its fields appended (named from ``names``, else inaccessible). Returns each goal with the
    positions of the new fields."""
    h = goal.hyps[index]
    ctors = _FIELD_CTORS.get(type(h.type))
    if ctors is None:
        raise TacticFailure("tactic 'cases' failed, major premise type is not an inductive type\n  "
                            f"{pp(h.type) if h.type is not None else 'Prop'}")
    rest = goal.hyps[:index] + goal.hyps[index + 1:]
    out = []
    for c, (ctor, fields) in enumerate(ctors):
        new = []
        for f, (field, get) in enumerate(fields):
            given = names[c][f] if names else None
            new.append(Hyp(given, get(h.type)) if given else Hyp(field, get(h.type), False))
        tag = f"{goal.tag}.{ctor}" if goal.tag else ctor
        out.append((Goal(rest + tuple(new), goal.target, tag), list(range(len(rest), len(rest) + len(new)))))
    return out


def _major(goal: Goal, term: Term, meter: Meter) -> tuple[Goal, int]:
    """The hypothesis a ``cases``/``rcases`` works on; a compound term is first added as one."""
    if type(term) is Ref:
        for i in range(len(goal.hyps) - 1, -1, -1):
            h = goal.hyps[i]
            if h.accessible and h.name == term.name:
                if h.type is None:
                    raise TacticFailure(f"tactic 'cases' failed, major premise type is not an inductive type\n"
                                        f"  Prop")
                return goal, i
    el = _Elab(goal)
    ty = meter.formula(_inst(el.infer(term), el.subst))
    if _has_meta(ty):
        raise OutsideFragment(f"case analysis on a term of undetermined type is {OUTSIDE}")
    return Goal(goal.hyps + (Hyp("x", ty, False),), goal.target, goal.tag), len(goal.hyps)


def _rcases(goal: Goal, term: Term, pattern: Pattern, meter: Meter) -> list[Goal]:
    if type(pattern) is PName:
        if type(term) is Ref and _lookup(goal.hyps, term.name) is not None:
            raise OutsideFragment(f"renaming a hypothesis with rcases/obtain is {OUTSIDE}")
        el = _Elab(goal)
        ty = meter.formula(_inst(el.infer(term), el.subst))
        if _has_meta(ty):
            raise OutsideFragment(f"'obtain' with an undetermined type is {OUTSIDE}")
        return [Goal(goal.hyps + (Hyp(pattern.name or "x", ty, pattern.name is not None),), goal.target,
                     goal.tag)]
    goal, index = _major(goal, term, meter)
    return _destruct(goal, index, pattern)


def _destruct(goal: Goal, index: int, pattern: Pattern) -> list[Goal]:
    ty = goal.hyps[index].type
    ctors = _FIELD_CTORS.get(type(ty))
    if ctors is None:
        raise OutsideFragment(f"rcases patterns on '{pp(ty) if ty is not None else 'Prop'}' are {OUTSIDE}")
    if not ctors:
        return []
    per_ctor = _align(pattern, ctors)
    names = [[p.name if type(p) is PName else None for p in pats] for pats in per_ctor]
    out: list[Goal] = []
    for (g, positions), pats in zip(_split(goal, index, names), per_ctor):
        out.extend(_destruct_fields(g, list(zip(positions, pats))))
    return out


def _destruct_fields(goal: Goal, todo: list[tuple[int, Pattern]]) -> list[Goal]:
    """Destructure the fields left to right as Lean's rcases does: each ``cases`` removes one
    hypothesis (shifting later siblings down by one) and appends its own fields at the end."""
    for k, (pos, pat) in enumerate(todo):
        if type(pat) is PName:
            continue
        out = []
        for g in _destruct(goal, pos, pat):
            rest = [(p - 1, q) for p, q in todo[k + 1:]]
            out.extend(_destruct_fields(g, rest))
        return out
    return [goal]


def _align(pattern: Pattern, ctors: list) -> list[list[Pattern]]:
    if len(ctors) == 2:
        if type(pattern) is not PAlts:
            raise OutsideFragment(f"this rcases pattern for a disjunction is {OUTSIDE}")
        alts = pattern.alts
        second = alts[1] if len(alts) == 2 else PAlts(alts[1:])
        return [[alts[0]], [second]]
    if type(pattern) is not PTuple:
        raise OutsideFragment(f"this rcases pattern for a structure is {OUTSIDE}")
    fields = len(ctors[0][1])
    items = list(pattern.items)
    if len(items) > fields:
        if fields == 0:
            raise OutsideFragment(f"this rcases pattern for 'True' is {OUTSIDE}")
        items = items[:fields - 1] + [PTuple(tuple(items[fields - 1:]))]
    items += [PName(None)] * (fields - len(items))
    return [items]


def _cases(goal: Goal, term: Term, meter: Meter) -> list[Goal]:
    goal, index = _major(goal, term, meter)
    return [g for g, _ in _split(goal, index)]


def _by_cases(goal: Goal, tac: ByCases) -> list[Goal]:
    f = _resolve_formula(tac.formula, goal.hyps)
    name, accessible = (tac.name, True) if tac.name else ("h", False)
    return [Goal(goal.hyps + (Hyp(name, f, accessible),), goal.target, "pos"),
            Goal(goal.hyps + (Hyp(name, Not(f), accessible),), goal.target, "neg")]


def _by_contra(goal: Goal, name: str) -> list[Goal]:
    t = goal.target
    assumed = t.arg if type(t) is Not else Not(t)
    return [Goal(goal.hyps + (Hyp(name, assumed),), FALSE, goal.tag)]


def _basic(goal: Goal, name: str) -> list[Goal]:
    if name == "constructor":
        return _constructor(goal)
    if name in ("left", "right"):
        return _left_right(goal, name)
    if name == "exfalso":
        return [replace(goal, target=FALSE)]
    if name == "assumption":
        return _closing(name, _assumption_holds(goal), goal)
    if name == "contradiction":
        return _closing(name, _contradiction_holds(goal), goal)
    if name == "trivial":
        return _closing(name, _trivial_holds(goal), goal)
    return _closing(name, _iff_refl(goal), goal)  # rfl


_ON_MAIN_GOAL = {  # tactic class -> (main goal, tactic, meter) -> new goals
    Intro: lambda g, t, m: _intro(g, t.names, t.all_),
    Exact: lambda g, t, m: _exact(g, t.term),
    Apply: lambda g, t, m: _apply(g, t.term, m),
    Cases: lambda g, t, m: _cases(g, t.term, m),
    RCases: lambda g, t, m: _rcases(g, t.term, t.pattern, m),
    Have: _have,
    ByCases: lambda g, t, m: _by_cases(g, t),
    ByContra: lambda g, t, m: _by_contra(g, t.name),
    Basic: lambda g, t, m: _basic(g, t.name),
}

# ---------------------------------------------------------------------------- combinators

_REPEAT_LIMIT = 64
Goals = tuple[Goal, ...]


def _unsolved(goals: Goals) -> TacticFailure:
    return TacticFailure("unsolved goals\n" + "\n\n".join(render(g) for g in goals))


def _no_goals() -> TacticFailure:
    return TacticFailure("no goals to be proved")


def _find_case(goals: Goals, tag: str) -> int:
    dotted = "." + tag
    for match in (lambda t: t == tag, lambda t: t.endswith(dotted), lambda t: t.startswith(tag + ".")):
        for i, g in enumerate(goals):
            if match(g.tag):
                return i
    raise TacticFailure(f"Case tag '{tag}' not found.\n\nAvailable tags: "
                        + ", ".join(f"'{g.tag}'" for g in goals if g.tag))


def run(tac: Tactic, goals: Goals, meter: Meter) -> Goals:
    """Run one tactic (tree) on the goal list, Lean-style: acting on the main goal, its
    work charged to ``meter``."""
    meter.left -= 1
    if meter.left < meter.look_at:
        meter.look()
    cls = type(tac)
    prim = _ON_MAIN_GOAL.get(cls)
    if prim is not None:
        if cls is Basic and tac.name in ("skip", "done"):
            if tac.name == "done" and goals:
                raise _unsolved(goals)
            return goals
        if not goals:
            raise _no_goals()
        new = prim(goals[0], tac, meter)
        meter.produced(new, len(goals) - 1)
        return (*new, *goals[1:])
    if cls is Seq:
        for item in tac.items:
            goals = run(item, goals, meter)
        return goals
    if cls is Focus:
        if not goals:
            raise _no_goals()
        left = run(tac.body, goals[:1], meter)
        if left:
            raise _unsolved(left)
        return goals[1:]
    if cls is Then:
        if not goals:
            raise _no_goals()
        out: list[Goal] = []
        for g in run(tac.first, goals[:1], meter):
            out.extend(run(tac.second, (g,), meter))
            meter.open_goals(len(out) + len(goals) - 1)
        return tuple(out) + goals[1:]
    if cls is CaseTac:
        if not goals:
            raise _no_goals()
        i = 0
        if tac.tag is not None:
            i = _find_case(goals, tac.tag)
            if "a" in goals[i].tag.split(".") or "a" in tac.tag.split("."):
                raise OutsideFragment(f"naming the hygienic case tag 'a' is {OUTSIDE}")
        left = run(tac.body, (replace(goals[i], tag=""),), meter)
        if left:
            raise _unsolved(left)
        return goals[:i] + goals[i + 1:]
    if cls is First:
        error: TacticFailure | None = None
        for alt in tac.alts:
            try:
                return run(alt, goals, meter)
            except TacticFailure as e:
                error = e
        raise error  # type: ignore[misc]
    return _combinator(tac, goals, meter)


def _combinator(tac: Combinator, goals: Goals, meter: Meter) -> Goals:
    kind = tac.kind
    if kind == "try":
        try:
            return run(tac.body, goals, meter)
        except TacticFailure:
            return goals
    if kind == "repeat":
        for _ in range(_REPEAT_LIMIT):
            try:
                goals = run(tac.body, goals, meter)
            except TacticFailure:
                return goals
        raise OutsideFragment(f"'repeat' running more than {_REPEAT_LIMIT} times is {OUTSIDE}")
    out: list[Goal] = []
    succeeded = False
    for i, g in enumerate(goals):
        if kind == "all_goals":
            out.extend(run(tac.body, (g,), meter))
        else:
            try:
                out.extend(run(tac.body, (g,), meter))
                succeeded = True
            except TacticFailure:
                out.append(g)
        meter.open_goals(len(out) + len(goals) - i - 1)
    if kind == "any_goals" and not succeeded:
        raise TacticFailure("any_goals failed on every goal")
    return tuple(out)


def run_script(goals: Goals, text: str, meter: Meter | None = None) -> Goals:
    """Parse and run a tactic script, its work charged to ``meter`` (default: a fresh
    ``Meter()``). Raises ``Forbidden``, ``OutsideFragment`` (``ResourceLimit`` past a
    bound of the meter's ``WorkLimits``), ``Interrupted`` or ``TacticFailure``."""
    try:
        script = parse_tactics(text)
    except SyntaxFault as fault:
        where = (fault.line, (fault.column or 1) - 1) if fault.line else None
        raise (OutsideFragment if fault.outside else TacticFailure)(fault.message, where) from None
    return run(script, goals, Meter() if meter is None else meter)
