"""Parser of tactic scripts (Lean 4 syntax) into an immutable AST.

Covers the tactics, combinators (``;``, newlines, ``·``, ``<;>``, ``( )``, ``case``,
``next``, ``try``, ``first``, ``repeat``, ``all_goals``, ``any_goals``) and proof terms
the sandbox understands. Valid Lean that is not covered raises ``SyntaxFault`` with
``outside=True``; ``sorry``-like escapes raise ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from propsandbox.cache import byte_bounded_cache
from propsandbox.syntax import (
    OUTSIDE,
    Formula,
    SyntaxFault,
    Token,
    TokenStream,
    parse_formula_tokens,
    tokenize,
    unexpected,
)

__all__ = [
    "FORBIDDEN",
    "Forbidden",
    "Term",
    "Ref",
    "App",
    "Anon",
    "Proj",
    "Fun",
    "Pattern",
    "PName",
    "PTuple",
    "PAlts",
    "Tactic",
    "Seq",
    "Focus",
    "Then",
    "CaseTac",
    "Combinator",
    "First",
    "Basic",
    "Intro",
    "Exact",
    "Apply",
    "Cases",
    "RCases",
    "Have",
    "ByCases",
    "ByContra",
    "parse_tactics",
]

FORBIDDEN = frozenset({"sorry", "admit", "native_decide", "sorryAx"})


class Forbidden(Exception):
    """The script uses an escape hatch (``sorry``, ``admit``, ``native_decide``) that is never accepted."""


# ---------------------------------------------------------------------------- terms


class Term:
    """Base class of proof terms."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Ref(Term):
    """An identifier, possibly dotted (``h``, ``Or.inl``, ``h.1``, ``h.mp``)."""

    name: str


@dataclass(frozen=True, slots=True)
class App(Term):
    """Application ``fn a₁ … aₙ``."""

    fn: Term
    args: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Anon(Term):
    """Anonymous constructor ``⟨a, b, …⟩``."""

    items: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Proj(Term):
    """Projection ``(t).1`` / ``(t).mp`` on a parenthesised term."""

    term: Term
    field: str


@dataclass(frozen=True, slots=True)
class Fun(Term):
    """``fun x (y : φ) _ => body``; a binder name ``None`` is ``_``."""

    binders: tuple[tuple[str | None, Formula | None], ...]
    body: Term


# ---------------------------------------------------------------------------- patterns


class Pattern:
    """Base class of ``rcases`` patterns."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class PName(Pattern):
    """A name (``None`` for ``_``)."""

    name: str | None


@dataclass(frozen=True, slots=True)
class PTuple(Pattern):
    """``⟨p₁, p₂, …⟩``."""

    items: tuple[Pattern, ...]


@dataclass(frozen=True, slots=True)
class PAlts(Pattern):
    """``p₁ | p₂ | …``."""

    alts: tuple[Pattern, ...]


# ---------------------------------------------------------------------------- tactics


class Tactic:
    """Base class of tactic syntax."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Seq(Tactic):
    """Tactics run one after the other (``;`` or newlines)."""

    items: tuple[Tactic, ...]


@dataclass(frozen=True, slots=True)
class Focus(Tactic):
    """``· tacs``: focus on the main goal, which ``tacs`` must close."""

    body: Seq


@dataclass(frozen=True, slots=True)
class Then(Tactic):
    """``first <;> second``: run ``second`` on every goal ``first`` produced."""

    first: Tactic
    second: Tactic


@dataclass(frozen=True, slots=True)
class CaseTac(Tactic):
    """``case tag => tacs`` (``tag is None`` for ``next => tacs``)."""

    tag: str | None
    body: Seq


@dataclass(frozen=True, slots=True)
class Combinator(Tactic):
    """``try``, ``repeat``, ``all_goals`` or ``any_goals`` applied to a sequence."""

    kind: str
    body: Seq


@dataclass(frozen=True, slots=True)
class First(Tactic):
    """``first | t₁ | t₂ …``."""

    alts: tuple[Seq, ...]


@dataclass(frozen=True, slots=True)
class Basic(Tactic):
    """An argument-free tactic: constructor, left, right, exfalso, assumption,
    contradiction, trivial, rfl, skip, done."""

    name: str


@dataclass(frozen=True, slots=True)
class Intro(Tactic):
    """``intro``/``intros`` with names (``None`` for ``_``); ``all_`` for bare ``intros``."""

    names: tuple[str | None, ...]
    all_: bool = False


@dataclass(frozen=True, slots=True)
class Exact(Tactic):
    """``exact t``."""

    term: Term


@dataclass(frozen=True, slots=True)
class Apply(Tactic):
    """``apply t``."""

    term: Term


@dataclass(frozen=True, slots=True)
class Cases(Tactic):
    """``cases t``."""

    term: Term


@dataclass(frozen=True, slots=True)
class RCases(Tactic):
    """``rcases t with pat`` / ``obtain pat := t``."""

    term: Term
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class Have(Tactic):
    """``have h : φ := t`` / ``have h := t`` (``name`` defaults to ``this``)."""

    name: str
    type: Formula | None
    term: Term


@dataclass(frozen=True, slots=True)
class ByCases(Tactic):
    """``by_cases h : φ`` (``name is None``: Lean's hygienic ``h✝``)."""

    name: str | None
    formula: Formula


@dataclass(frozen=True, slots=True)
class ByContra(Tactic):
    """``by_contra h``."""

    name: str


_BASIC = frozenset({"constructor", "left", "right", "exfalso", "assumption", "contradiction",
                    "trivial", "rfl", "skip", "done"})
_COMBINATORS = frozenset({"try", "repeat", "all_goals", "any_goals"})


_PARSE_CACHE_BYTES = 64 << 20
_PARSE_BYTES_PER_CHAR = 40
"""Measured with tracemalloc: a parsed script holds up to 28 bytes per character of its
text (``exact f h h …``, nested ``⟨…⟩``), and the text itself up to 4."""


@byte_bounded_cache(_PARSE_CACHE_BYTES, lambda text, seq: 512 + _PARSE_BYTES_PER_CHAR * len(text))
def parse_tactics(text: str) -> Seq:
    """Parse a tactic script. Raises ``Forbidden`` or ``SyntaxFault`` (``outside`` set for
    valid Lean beyond the fragment)."""
    tokens = tokenize(text)
    for tok in tokens:
        if tok.kind == "ident" and tok.text in FORBIDDEN:
            raise Forbidden(f"'{tok.text}' is never accepted by the sandbox")
    ts = TokenStream(tokens)
    if ts.peek().kind == "eof":
        raise SyntaxFault("empty tactic", ts.peek())
    seq = _seq(ts)
    if ts.raw().kind != "eof":
        raise unexpected(ts.raw())
    return seq


def _seq(ts: TokenStream) -> Seq:
    first = ts.peek()
    if first.kind == "eof":
        raise unexpected(first, "expected a tactic")
    col, saved = first.col, ts.limit
    items = []
    while True:
        ts.limit = col
        items.append(_tactic(ts))
        tok = ts.raw()
        if tok.text == ";" and tok.kind == "sym" and not (tok.bol and tok.col <= col):
            ts.index += 1
            continue
        if tok.kind != "eof" and tok.bol and tok.col == col:
            continue
        break
    ts.limit = saved
    return Seq(tuple(items))


def _tactic(ts: TokenStream) -> Tactic:
    tac = _atom(ts)
    while ts.at("<;>"):
        ts.next()
        tac = Then(tac, _atom(ts))
    return tac


def _atom(ts: TokenStream) -> Tactic:
    tok = ts.raw()  # a tactic's first token may sit at the block's column
    if tok.kind == "eof":
        raise unexpected(tok, "expected a tactic")
    ts.index += 1
    text = tok.text
    if tok.kind == "sym":
        if text == "·":
            return Focus(_seq(ts))
        if text == "(":
            inner = _seq(ts)
            ts.expect(")")
            return inner
        raise unexpected(tok, "expected a tactic")
    if tok.kind != "ident":
        raise unexpected(tok, "expected a tactic")
    if text in _BASIC:
        return Basic(text)
    if text in ("intro", "intros"):
        names = []
        while ts.peek().kind == "ident" and ts.peek().text not in _KEYWORDS:
            names.append(_binder_name(ts.next()))
        if ts.peek().text in ("⟨", "("):
            raise SyntaxFault(f"'{text}' with patterns is {OUTSIDE}", ts.peek(), outside=True)
        if text == "intro" and not names:
            return Intro((None,))
        return Intro(tuple(names), all_=not names)
    if text in ("exact", "apply"):
        term = _term(ts)
        return Exact(term) if text == "exact" else Apply(term)
    if text == "cases":
        term = _term(ts)
        if ts.at("with"):
            raise SyntaxFault(f"'cases … with' is {OUTSIDE}", ts.peek(), outside=True)
        return Cases(term)
    if text == "rcases":
        term = _term(ts)
        ts.expect("with")
        return RCases(term, _pattern(ts))
    if text == "obtain":
        pat = _pattern(ts)
        if not ts.at(":="):
            raise SyntaxFault(f"'obtain' without ':= term' is {OUTSIDE}", ts.peek(), outside=True)
        ts.next()
        return RCases(_term(ts), pat)
    if text == "have":
        return _have(ts)
    if text == "by_cases":
        name = None
        if ts.peek().kind == "ident" and ts.tokens[ts.index + 1].text == ":":
            name = _binder_name(ts.next())
            ts.expect(":")
        return ByCases(name, parse_formula_tokens(ts))
    if text == "by_contra":
        name_tok = ts.peek()
        if name_tok.kind != "ident":
            raise SyntaxFault(f"'by_contra' without a name is {OUTSIDE}", tok, outside=True)
        return ByContra(_binder_name(ts.next()) or "this")
    if text in ("case", "next"):
        return _case(ts, tok)
    if text in _COMBINATORS:
        return Combinator(text, _seq(ts))
    if text == "first":
        alts = []
        while ts.at("|"):
            ts.next()
            alts.append(_seq(ts))
        if not alts:
            raise unexpected(ts.peek(), "expected '|'")
        return First(tuple(alts))
    raise SyntaxFault(f"tactic '{text}' is {OUTSIDE}", tok, outside=True)


def _binder_name(tok: Token) -> str | None:
    if "." in tok.text or "✝" in tok.text:
        raise SyntaxFault(f"unexpected identifier '{tok.text}'", tok)
    return None if tok.text == "_" else tok.text


def _have(ts: TokenStream) -> Have:
    name = "this"
    if ts.peek().kind == "ident":
        name = _binder_name(ts.next()) or "this"
    ty = None
    if ts.at(":"):
        ts.next()
        ty = parse_formula_tokens(ts)
    if not ts.at(":="):
        raise SyntaxFault(f"'have' without ':=' is {OUTSIDE}", ts.peek(), outside=True)
    ts.next()
    return Have(name, ty, _term(ts))


def _case(ts: TokenStream, head: Token) -> CaseTac:
    tag = None
    if head.text == "case":
        tag_tok = ts.next()
        if tag_tok.kind != "ident" or "✝" in tag_tok.text:
            raise unexpected(tag_tok, "expected a case tag")
        tag = None if tag_tok.text == "_" else tag_tok.text
    if not ts.at("=>"):
        raise SyntaxFault(f"'{head.text}' with renamed hypotheses is {OUTSIDE}", ts.peek(), outside=True)
    ts.next()
    return CaseTac(tag, _seq(ts))


def _pattern(ts: TokenStream) -> Pattern:
    alts = [_pattern_atom(ts)]
    while ts.at("|"):
        ts.next()
        alts.append(_pattern_atom(ts))
    return alts[0] if len(alts) == 1 else PAlts(tuple(alts))


def _pattern_atom(ts: TokenStream) -> Pattern:
    tok = ts.next()
    if tok.kind == "ident":
        return PName(_binder_name(tok))
    if tok.text == "⟨" and tok.kind == "sym":
        items = []
        if not ts.at("⟩"):
            items.append(_pattern(ts))
            while ts.at(","):
                ts.next()
                items.append(_pattern(ts))
        ts.expect("⟩")
        return PTuple(tuple(items))
    if tok.text == "(" and tok.kind == "sym":
        inner = _pattern(ts)
        ts.expect(")")
        return inner
    raise unexpected(tok, "expected an rcases pattern")


# ---------------------------------------------------------------------------- term parsing

# Lean's reserved words: they never start a term or name a hypothesis. (Tactic names are
# not reserved: Lean's tactic category lets them double as identifiers, e.g. `exact trivial`.)
_KEYWORDS = frozenset({"with", "at", "using", "fun", "then", "else", "from", "by", "do", "show", "calc", "match",
                       "let", "if", "have"})


def _term(ts: TokenStream) -> Term:
    if ts.at("fun"):
        return _fun(ts)
    fn = _arg(ts)
    args = []
    while True:
        tok = ts.peek()
        if tok.kind == "ident" and tok.text == "fun":
            args.append(_fun(ts))
            break
        if (tok.kind == "ident" and tok.text not in _KEYWORDS) or (
                tok.kind == "sym" and tok.text in ("(", "⟨")):
            args.append(_arg(ts))
            continue
        break
    return App(fn, tuple(args)) if args else fn


def _arg(ts: TokenStream) -> Term:
    tok = ts.next()
    if tok.kind == "ident":
        if tok.text in _KEYWORDS or tok.text == "_" or "✝" in tok.text:
            raise unexpected(tok, "expected a term")
        term: Term = Ref(tok.text)
    elif tok.kind == "sym" and tok.text == "(":
        term = _term(ts)
        if ts.at(":"):
            raise SyntaxFault(f"type ascription '( : )' is {OUTSIDE}", ts.peek(), outside=True)
        ts.expect(")")
    elif tok.kind == "sym" and tok.text == "⟨":
        items = []
        if not ts.at("⟩"):
            items.append(_term(ts))
            while ts.at(","):
                ts.next()
                items.append(_term(ts))
        ts.expect("⟩")
        term = Anon(tuple(items))
    else:
        raise unexpected(tok, "expected a term")
    while ts.peek().kind == "proj":
        term = Proj(term, ts.next().text[1:])
    return term


def _fun(ts: TokenStream) -> Fun:
    ts.next()
    binders: list[tuple[str | None, Formula | None]] = []
    while not (ts.at("=>") or ts.at("↦")):
        tok = ts.next()
        if tok.kind == "ident":
            binders.append((_binder_name(tok), None))
        elif tok.kind == "sym" and tok.text == "(":
            names = []
            while ts.peek().kind == "ident":
                names.append(_binder_name(ts.next()))
            if not names:
                raise unexpected(ts.peek(), "expected a binder name")
            ts.expect(":")
            ty = parse_formula_tokens(ts)
            ts.expect(")")
            binders.extend((n, ty) for n in names)
        elif tok.kind == "sym" and tok.text == "⟨":
            raise SyntaxFault(f"pattern-matching 'fun ⟨…⟩' is {OUTSIDE}", tok, outside=True)
        else:
            raise unexpected(tok, "expected '=>'")
    if not binders:
        raise unexpected(ts.peek(), "expected a binder")
    ts.next()
    return Fun(tuple(binders), _term(ts))
