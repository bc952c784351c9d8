"""Lexer, parser and pretty-printer for the sandbox's propositional fragment of Lean 4.

Formulas use Lean 4 core's notations and precedences: ``¬`` (``notation:max "¬" p:40``),
``∧`` (``infixr:35``), ``∨`` (``infixr:30``), ``→`` (builtin, right-assoc, 25) and ``↔``
(``infix:20``, non-associative). The printer emits the minimal parentheses Lean's
parenthesizer would, so ``parse(pp(f)) == f``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from lean_env import StatementError

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_DEPTH",
    "OUTSIDE",
    "Formula",
    "Atom",
    "Top",
    "Bot",
    "Not",
    "And",
    "Or",
    "Imp",
    "Iff",
    "TRUE",
    "FALSE",
    "Token",
    "SyntaxFault",
    "tokenize",
    "TokenStream",
    "parse_formula_tokens",
    "parse_formula",
    "pp",
    "Binder",
    "Statement",
    "parse_statement",
    "subformulas",
    "map_leaves",
    "atoms_of",
    "evaluate",
    "truth_table_mask",
    "is_tautology",
]

MAX_INPUT_CHARS = 100_000
MAX_DEPTH = 100
_PARSE_RECURSION_LIMIT = 8000
"""Headroom for the recursive-descent parser, whatever the caller's stack depth; deeper input
is refused as outside the fragment (a ``RecursionError`` is caught, never a crash)."""
OUTSIDE = "outside the sandbox's propositional fragment"


class Formula:
    """Base class of propositional formulas (immutable, hashable, structural equality)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Atom(Formula):
    """A propositional variable, referred to by its identifier."""

    name: str


@dataclass(frozen=True, slots=True)
class Top(Formula):
    """``True``."""


@dataclass(frozen=True, slots=True)
class Bot(Formula):
    """``False``."""


@dataclass(frozen=True, slots=True)
class Not(Formula):
    """``¬a`` (Lean's ``Not a``, definitionally ``a → False``)."""

    arg: Formula


@dataclass(frozen=True, slots=True)
class And(Formula):
    """``a ∧ b``."""

    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Or(Formula):
    """``a ∨ b``."""

    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Imp(Formula):
    """``a → b``."""

    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Iff(Formula):
    """``a ↔ b``."""

    left: Formula
    right: Formula


TRUE = Top()
FALSE = Bot()

# ---------------------------------------------------------------------------- lexing

_SUB = "₀-₉ₐ-ₜᵢ-ᵪ"
_IDENT_START = r"(?:[^\W\d]|[αβγδεζηθικμνξοπρστυφχψωΑ-Ωϊ-ϻἀ-῾℀-⅏𝒜-𝖟])"
_IDENT_REST = rf"[\w'!?{_SUB}]"
_ATOMIC = rf"(?![λΠΣ]){_IDENT_START}{_IDENT_REST}*(?:✝[⁰¹²³⁴-⁹]*)?"
_IDENT = rf"{_ATOMIC}(?:\.(?:{_ATOMIC}|\d+))*"
# Symbols of the fragment (longest first) and Lean notations the sandbox does not cover.
_FRAGMENT_SYMBOLS = [
    "<;>", "<->", ":=", "=>", "->", "/\\", "\\/", "(", ")", "⟨", "⟩", "{", "}", ":", ",", ";",
    "·", "|", "→", "↔", "∧", "∨", "¬", "⊢", "↦",
]
_OUTSIDE_SYMBOLS = [
    "<-", "<=", ">=", "!=", "==", "++", "∀", "∃", "=", "≠", "<", ">", "≤", "≥", "+", "-", "*", "/",
    "^", "∈", "∉", "⊆", "⊂", "∪", "∩", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "λ", "∘", "×", "%", "@",
    "#", "$", "[", "]", "←", "▸", "∑", "∏", "⦃", "⦄", "'", "!", "?", "&", "~", "⁻¹", ".", "∣",
]
_TOKEN_RE = re.compile(
    rf"(?P<ident>{_IDENT})|(?P<num>\d+)|(?P<proj>(?<=[)⟩])\.(?:\d+|{_ATOMIC}))"
    r"|(?P<sym>" + "|".join(re.escape(s) for s in _FRAGMENT_SYMBOLS) + ")"
    r"|(?P<out>" + "|".join(re.escape(s) for s in sorted(_OUTSIDE_SYMBOLS, key=len, reverse=True)) + ")"
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme with its 1-based position; ``bol`` marks the first token of a line."""

    kind: str  # ident | num | proj | sym | out | eof
    text: str
    line: int
    col: int
    bol: bool


class SyntaxFault(Exception):
    """A lexing/parsing failure with position; ``outside`` marks valid Lean we do not cover."""

    def __init__(self, message: str, token: Token | None = None, *, outside: bool = False):
        super().__init__(message)
        self.message = message
        self.line = token.line if token else None
        self.column = token.col if token else None
        self.outside = outside


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, skipping blanks and ``--``/``/- -/`` comments."""
    if len(text) > MAX_INPUT_CHARS:
        line = text.count("\n", 0, MAX_INPUT_CHARS) + 1
        col = MAX_INPUT_CHARS - text.rfind("\n", 0, MAX_INPUT_CHARS)
        raise SyntaxFault(f"input longer than {MAX_INPUT_CHARS} characters",
                          Token("eof", "", line, col, False))
    tokens: list[Token] = []
    pos, line, line_start, bol = 0, 1, 0, True
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\n":
            pos, line, line_start, bol = pos + 1, line + 1, pos + 1, True
            continue
        if ch in " \t\r":
            pos += 1
            continue
        if text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end
            continue
        if text.startswith("/-", pos):
            pos, line, line_start = _skip_block_comment(text, pos, line=line, line_start=line_start)
            continue
        col = pos - line_start + 1
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise SyntaxFault(f"unexpected token '{ch}'", Token("sym", ch, line, col, bol))
        kind = m.lastgroup or "sym"
        value = m.group()
        if kind == "out" and value == "." and bol:  # `. tac` is Lean's ASCII focus bullet
            kind, value = "sym", "·"
        tokens.append(Token(kind, value, line, col, bol))
        pos, bol = m.end(), False
    tokens.append(Token("eof", "", line, pos - line_start + 1, True))
    return tokens


def _skip_block_comment(text: str, pos: int, *, line: int, line_start: int) -> tuple[int, int, int]:
    depth, start_line, start_col = 0, line, pos - line_start + 1
    while pos < len(text):
        if text.startswith("/-", pos):
            depth, pos = depth + 1, pos + 2
        elif text.startswith("-/", pos):
            depth, pos = depth - 1, pos + 2
            if depth == 0:
                return pos, line, line_start
        else:
            if text[pos] == "\n":
                line, line_start = line + 1, pos + 1
            pos += 1
    raise SyntaxFault("unterminated comment", Token("sym", "/-", start_line, start_col, False))


class TokenStream:
    """A cursor over tokens with Lean's layout rule: a token starting a line at a column
    ``<= limit`` ends the current tactic, so ``peek`` reports it as end of input."""

    __slots__ = ("tokens", "index", "limit")

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0
        self.limit = 0

    def raw(self) -> Token:
        """The next token, ignoring the layout limit."""
        return self.tokens[self.index]

    def peek(self) -> Token:
        """The next token, or end of input where the layout rule ends the current tactic."""
        tok = self.tokens[self.index]
        if tok.bol and tok.col <= self.limit and tok.kind != "eof":
            return Token("eof", "", tok.line, tok.col, True)
        return tok

    def at(self, text: str) -> bool:
        """Whether the next token is the symbol or word ``text``."""
        tok = self.peek()
        return tok.text == text and tok.kind in ("sym", "ident")

    def next(self) -> Token:
        """Consume and return the next token (end of input is never consumed)."""
        tok = self.peek()
        if tok.kind != "eof":
            self.index += 1
        return tok

    def expect(self, text: str) -> Token:
        """Consume ``text`` or raise a positioned ``SyntaxFault``."""
        tok = self.peek()
        if tok.text != text or tok.kind not in ("sym", "ident"):
            raise unexpected(tok, f"expected '{text}'")
        self.index += 1
        return tok


def unexpected(tok: Token, hint: str = "") -> SyntaxFault:
    """The error for ``tok`` where it cannot stand; Lean notations we lack are 'outside'."""
    if tok.kind == "out" or tok.kind == "num":
        return SyntaxFault(f"'{tok.text}' is {OUTSIDE}", tok, outside=True)
    what = "end of input" if tok.kind == "eof" else f"token '{tok.text}'"
    return SyntaxFault(f"unexpected {what}" + (f"; {hint}" if hint else ""), tok)


# ---------------------------------------------------------------------------- formulas

_BINARY = {
    "∧": (35, 36, 35, And), "/\\": (35, 36, 35, And),
    "∨": (30, 31, 30, Or), "\\/": (30, 31, 30, Or),
    "→": (25, 0, 25, Imp), "->": (25, 0, 25, Imp),
    "↔": (20, 21, 21, Iff), "<->": (20, 21, 21, Iff),
}
_MAX = 1024
_OUTSIDE_TYPES = frozenset({"Type", "Sort", "Nat", "Int", "Bool", "Real", "String", "List", "Set"})


def parse_formula_tokens(ts: TokenStream, prec: int = 0) -> Formula:
    """Parse a formula at precedence ``>= prec`` by Lean's leading/trailing parser rules."""
    lhs, lhs_prec = _leading(ts)
    while True:
        tok = ts.peek()
        op = _BINARY.get(tok.text) if tok.kind == "sym" else None
        if op is None:
            return lhs
        level, lhs_min, rhs_prec, node = op
        if level < prec or lhs_prec < lhs_min:
            return lhs
        ts.next()
        lhs, lhs_prec = node(lhs, parse_formula_tokens(ts, rhs_prec)), level


def _leading(ts: TokenStream) -> tuple[Formula, int]:
    tok = ts.next()
    if tok.kind == "sym" and tok.text == "(":
        inner = parse_formula_tokens(ts)
        ts.expect(")")
        return inner, _MAX
    if tok.kind == "sym" and tok.text == "¬":
        return Not(parse_formula_tokens(ts, 40)), _MAX
    if tok.kind == "ident":
        if tok.text == "True":
            return TRUE, _MAX
        if tok.text == "False":
            return FALSE, _MAX
        if tok.text == "Not":
            arg_tok = ts.peek()
            if arg_tok.kind == "ident" or arg_tok.text == "(":
                arg, _ = _leading(ts)
                if arg_tok.kind == "ident" and arg_tok.text == "Not":
                    raise SyntaxFault("function expected: 'Not' needs a proposition argument", arg_tok)
                return Not(arg), _MAX
            raise unexpected(arg_tok, "expected an argument of 'Not'")
        if tok.text in _OUTSIDE_TYPES or "." in tok.text:
            raise SyntaxFault(f"'{tok.text}' is {OUTSIDE}", tok, outside=True)
        return Atom(tok.text), _MAX
    raise unexpected(tok, "expected a proposition")


def parse_formula(text: str, bound: Callable[[str], bool] | None = None) -> Formula:
    """Parse a whole formula; raise ``StatementError`` with position if it is malformed or
    mentions an identifier for which ``bound`` is false."""
    try:
        ts = TokenStream(tokenize(text))
        if ts.peek().kind == "eof":
            raise SyntaxFault("empty formula", ts.peek())
        f = _with_positions(ts, bound)
        if ts.peek().kind != "eof":
            raise unexpected(ts.peek())
        return f
    except SyntaxFault as fault:
        raise _statement_error(fault) from None


def _with_positions(ts: TokenStream, bound: Callable[[str], bool] | None) -> Formula:
    start = ts.index
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _PARSE_RECURSION_LIMIT))
    try:
        f = parse_formula_tokens(ts)
    except RecursionError:
        f = None
    finally:
        sys.setrecursionlimit(previous)
    if f is None or _depth(f) > MAX_DEPTH:
        raise SyntaxFault(f"formula nested deeper than {MAX_DEPTH} levels is {OUTSIDE}", ts.tokens[start],
                          outside=True)
    if bound is not None:
        for tok in ts.tokens[start:ts.index]:
            if tok.kind == "ident" and tok.text not in ("True", "False", "Not") and not bound(tok.text):
                raise SyntaxFault(f"unknown identifier '{tok.text}'", tok)
    return f


def _depth(f: Formula) -> int:
    deepest, stack = 0, [(f, 1)]
    while stack:
        g, d = stack.pop()
        deepest = max(deepest, d)
        if type(g) is Not:
            stack.append((g.arg, d + 1))
        elif type(g) in _PREC:
            stack.extend(((g.left, d + 1), (g.right, d + 1)))
    return deepest


def _statement_error(fault: SyntaxFault) -> StatementError:
    return StatementError(fault.message, fault.line or 1, fault.column or 1)


_PREC = {And: 35, Or: 30, Imp: 25, Iff: 20}
_SIDES = {And: (36, 35, " ∧ "), Or: (31, 30, " ∨ "), Imp: (26, 25, " → "), Iff: (21, 21, " ↔ ")}


def pp(f: Formula, names: Mapping[str, str] | None = None) -> str:
    """Lean 4's rendering of ``f`` with minimal parentheses; ``names`` renames atoms."""
    return _pp(f, 0, names)


def _pp(f: Formula, prec: int, names: Mapping[str, str] | None) -> str:
    cls = type(f)
    if cls is Atom:
        return names.get(f.name, f.name) if names else f.name
    if cls is Top:
        return "True"
    if cls is Bot:
        return "False"
    if cls is Not:
        return "¬" + _pp(f.arg, 40, names)
    lp, rp, sym = _SIDES[cls]
    text = _pp(f.left, lp, names) + sym + _pp(f.right, rp, names)
    return f"({text})" if _PREC[cls] < prec else text


def subformulas(f: Formula) -> Iterator[Formula]:
    """``f`` and all its subformulas, pre-order."""
    stack = [f]
    while stack:
        g = stack.pop()
        yield g
        cls = type(g)
        if cls is Not:
            stack.append(g.arg)
        elif cls in _PREC:
            stack.extend((g.right, g.left))


def map_leaves(f: Formula, fn: Callable[[Formula], Formula]) -> Formula:
    """``f`` rebuilt with every leaf (atom, constant, or other non-connective) replaced by ``fn(leaf)``."""
    cls = type(f)
    if cls is Not:
        return Not(map_leaves(f.arg, fn))
    if cls in _PREC:
        return cls(map_leaves(f.left, fn), map_leaves(f.right, fn))
    return fn(f)


def atoms_of(f: Formula) -> set[str]:
    """Names of the atoms occurring in ``f``."""
    return {g.name for g in subformulas(f) if type(g) is Atom}


def evaluate(f: Formula, valuation: Mapping[str, bool]) -> bool:
    """The truth value of ``f`` when each atom takes its value in ``valuation``."""
    cls = type(f)
    if cls is Atom:
        return valuation[f.name]
    if cls in (Top, Bot):
        return cls is Top
    if cls is Not:
        return not evaluate(f.arg, valuation)
    a, b = evaluate(f.left, valuation), evaluate(f.right, valuation)
    return {And: a and b, Or: a or b, Imp: (not a) or b, Iff: a == b}[cls]


def truth_table_mask(f: Formula, atoms: tuple[str, ...]) -> int:
    """The satisfying rows of ``f`` over ``atoms`` as a bitmask (row ``i`` makes atom ``j``
    true iff bit ``j`` of ``i`` is set), computed bit-parallel."""
    rows = 1 << len(atoms)
    full = (1 << rows) - 1
    masks = {a: sum(1 << i for i in range(rows) if i >> j & 1) for j, a in enumerate(atoms)}

    def mask(g: Formula) -> int:
        cls = type(g)
        if cls is Atom:
            return masks[g.name]
        if cls in (Top, Bot):
            return full if cls is Top else 0
        if cls is Not:
            return full & ~mask(g.arg)
        a, b = mask(g.left), mask(g.right)
        return {And: a & b, Or: a | b, Imp: (full & ~a) | b, Iff: full & ~(a ^ b)}[cls]

    return mask(f)


def is_tautology(f: Formula) -> bool:
    """Whether ``f`` holds under every assignment of its atoms."""
    atoms = tuple(sorted(atoms_of(f)))
    return truth_table_mask(f, atoms) == (1 << (1 << len(atoms))) - 1


# ---------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Binder:
    """One bound name of a statement: a ``Prop`` variable (``type is None``) or a hypothesis."""

    name: str
    type: Formula | None


@dataclass(frozen=True, slots=True)
class Statement:
    """A parsed ``theorem``/``lemma``/``example`` of the fragment."""

    keyword: str
    name: str
    binders: tuple[Binder, ...]
    conclusion: Formula


def parse_statement(text: str) -> Statement:
    """Parse ``theorem name (p q : Prop) (h : φ) : ψ := by``; raise ``StatementError``
    (1-based line and column) when it is malformed or outside the fragment."""
    try:
        return _parse_statement(text)
    except SyntaxFault as fault:
        raise _statement_error(fault) from None


def _parse_statement(text: str) -> Statement:
    ts = TokenStream(tokenize(text))
    head = ts.next()
    if head.kind == "eof":
        raise SyntaxFault("empty statement", head)
    if head.text not in ("theorem", "lemma", "example") or head.kind != "ident":
        raise unexpected(head, "expected 'theorem', 'lemma' or 'example'")
    name = ""
    if head.text != "example":
        name_tok = ts.next()
        if name_tok.kind != "ident":
            raise unexpected(name_tok, "expected the theorem's name")
        name = name_tok.text
    props: set[str] = set()
    binders: list[Binder] = []
    while ts.peek().text in ("(", "{") and ts.peek().kind == "sym":
        binders.extend(_binder_group(ts, props))
    ts.expect(":")
    conclusion = _with_positions(ts, props.__contains__)
    tok = ts.next()
    if tok.text == ":=" and tok.kind == "sym":
        if ts.peek().text == "by":
            ts.next()
        tok = ts.next()
    if tok.kind != "eof":
        raise unexpected(tok, "expected ':= by' and the end of the statement")
    return Statement(head.text, name, tuple(binders), conclusion)


def _binder_group(ts: TokenStream, props: set[str]) -> list[Binder]:
    close = ")" if ts.next().text == "(" else "}"
    names: list[Token] = []
    while ts.peek().kind == "ident" and ts.peek().text not in ("Prop", "True", "False", "Not"):
        names.append(ts.next())
    if not names:
        raise unexpected(ts.peek(), "expected a binder name")
    for tok in names:
        if "." in tok.text or "✝" in tok.text:
            raise SyntaxFault(f"invalid binder name '{tok.text}'", tok)
    ts.expect(":")
    type_tok = ts.peek()
    if type_tok.kind == "ident" and type_tok.text == "Prop":
        ts.next()
        ty: Formula | None = None
    else:
        if (type_tok.kind == "ident" and type_tok.text not in props and type_tok.text not in ("True", "False")
                and ts.tokens[ts.index + 1].text == close):
            raise SyntaxFault(f"binder type '{type_tok.text}' is not Prop or a proposition: {OUTSIDE}",
                              type_tok, outside=True)
        ty = _with_positions(ts, props.__contains__)
    ts.expect(close)
    out = []
    for tok in names:
        if tok.text in props or (ty is None and any(b.name == tok.text for b in out)):
            raise SyntaxFault(f"reusing the Prop variable name '{tok.text}' is {OUTSIDE}", tok, outside=True)
        if ty is None:
            props.add(tok.text)
        out.append(Binder(tok.text, ty))
    return out
