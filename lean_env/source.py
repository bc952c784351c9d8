"""Finding theorems, statements and imports in Lean source, on Lean's tokens.

One reader for every place that takes Lean text apart: ``prover prove --file``,
``prover check`` (every theorem of a file, or model outputs in JSONL), statements given
on the command line, and the REPL pool (which imports a header's ``import`` lines once
per worker and elaborates the rest as a command). Comments and strings never fool it,
because it works on ``lean_env.lexer`` tokens.

A *command* starts at a token in column 0 that is a command keyword (``theorem``,
``def``, ``open``, ``namespace``, ``#print``, ``@[``, a modifier such as ``private``,
...) or a doc comment directly before one; it runs to the next such start. A
*declaration* is a ``theorem`` or ``lemma`` command: its statement runs to the first
``:=`` outside brackets, and it has a tactic proof when ``by`` follows.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

from lean_env.errors import StatementError
from lean_env.hygiene import COMMAND_KEYWORDS
from lean_env.lexer import LexError, Token, tokenize

__all__ = ["Declaration", "SourceFile", "declared_name", "tactic_statement", "split_imports"]

_DECL_KEYWORDS = frozenset(("theorem", "lemma"))
_SCOPED = frozenset(("open", "set_option"))
_STARTERS = COMMAND_KEYWORDS | _SCOPED
_PREFIXES = frozenset("private protected noncomputable nonrec unsafe partial public meta".split()) | _SCOPED
_OPENERS, _CLOSERS = "([{⟨⦃", ")]}⟩⦄"
_SORRY = frozenset(("sorry", "admit"))


@dataclass(frozen=True)
class Declaration:
    """A ``theorem``/``lemma`` of a source file. ``start`` is where its command begins
    (doc comment, attributes and modifiers included) and ``end`` where the next begins;
    ``statement`` runs from the keyword (or an ``open ... in`` before it) through
    ``:= by`` (``:=`` for a term-mode proof, whose ``proof`` is ``None``): a doc comment,
    attributes and modifiers only matter to later uses of the theorem, not to proving it.
    ``line`` is the 1-based line of ``start`` and ``statement_line`` that of the statement;
    ``attributed`` says whether it had ``@[...]``."""

    name: str
    start: int
    end: int
    line: int
    statement: str
    proof: str | None
    attributed: bool = False
    statement_line: int = 0

    @property
    def tactic(self) -> bool:
        return self.proof is not None


def _code(tokens: Sequence[Token]) -> list[Token]:
    return [t for t in tokens if t.kind != "comment"]


def _plain(token: Token, words: frozenset[str]) -> bool:
    return token.is_plain and token.text in words


class SourceFile:
    """A Lean source text split into commands, with its ``theorem``/``lemma`` declarations.

    Raises ``StatementError`` when the text cannot be tokenized (an unterminated
    comment or string), naming the line."""

    def __init__(self, text: str):
        self.text = text
        try:
            self.tokens = tokenize(text)
        except LexError as exc:
            raise StatementError(str(exc)) from None
        self.starts = self._command_starts()
        self.declarations = tuple(d for d in map(self._declaration, range(len(self.starts))) if d is not None)
        self._names: dict[int, set[str]] = {}
        self._offsets = [t.start for t in self.tokens]

    def _command_starts(self) -> list[int]:
        """Token indices where commands begin: a doc comment directly above belongs to
        the command, and a line after ``open X in`` / ``set_option o v in`` continues it."""
        starts: list[int] = []
        previous: Token | None = None
        for i, token in enumerate(self.tokens):
            if token.kind == "comment":
                continue
            glued = previous is not None and _plain(previous, frozenset(("in",)))
            previous = token
            if token.column != 0 or glued:
                continue
            if token.kind == "hash" or token.text == "@[" or _plain(token, _STARTERS):
                j = i
                while j > 0 and self.tokens[j - 1].kind == "comment" and self.tokens[j - 1].text.startswith("/--"):
                    j -= 1
                if not starts or starts[-1] < j:
                    starts.append(j)
        return starts

    def _span(self, index: int) -> tuple[int, int]:
        """Token range ``[first, last)`` of command ``index``."""
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.tokens)
        return self.starts[index], end

    def _declaration(self, index: int) -> Declaration | None:
        first, last = self._span(index)
        code = _code(self.tokens[first:last])
        keyword = next((k for k, t in enumerate(code) if _plain(t, _DECL_KEYWORDS)), None)
        if keyword is None or keyword + 1 >= len(code) or code[keyword + 1].kind != "ident":
            return None
        prefix = code[:keyword]
        if prefix and not (prefix[0].text == "@[" or _plain(prefix[0], _PREFIXES)) or any(t.text == ":=" for t in prefix):
            return None
        attributed = any(t.text == "@[" for t in prefix)
        start = self.tokens[first].start
        end = self.tokens[last].start if last < len(self.tokens) else len(self.text)
        line = self.tokens[first].line
        name = code[keyword + 1].text
        head = code[0] if prefix and _plain(prefix[0], _SCOPED) else code[keyword]
        assign = _assignment(code, keyword + 2)
        by = code[assign + 1] if assign is not None and assign + 1 < len(code) else None
        if by is None or not _plain(by, frozenset(("by",))):
            statement = self.text[head.start : code[assign].end] if assign is not None else self.text[head.start : end].rstrip()
            return Declaration(name, start, end, line, statement, None, attributed, head.line)
        proof = self.text[by.end : end].rstrip()
        return Declaration(name, start, end, line, self.text[head.start : by.end], proof, attributed, head.line)

    def _identifiers(self, decl: Declaration) -> set[str]:
        """Every identifier ``decl`` mentions, written and by its last component (cached)."""
        names = self._names.get(decl.start)
        if names is None:
            first = bisect.bisect_left(self._offsets, decl.start)
            last = bisect.bisect_left(self._offsets, decl.end)
            tokens = (t for t in self.tokens[first:last] if t.kind == "ident")
            names = self._names[decl.start] = {form for t in tokens for form in (t.text, t.last, ".".join(t.parts))}
        return names

    def find(self, name: str) -> Declaration | None:
        """The declaration named ``name`` (as written, or with ``«»`` removed), else ``None``."""
        for decl in self.declarations:
            if name in (decl.name, decl.name.replace("«", "").replace("»", "")):
                return decl
        return None

    def header(self, decl: Declaration, *, minimal: bool = False) -> str:
        """The text before ``decl``: its imports and context. With ``minimal``, earlier
        theorems that ``decl`` neither names (directly or through the ones it keeps) nor
        marks with an attribute are blanked out (their lines kept empty, so positions stay
        those of the file), so one broken proof does not take every later theorem of the
        file down with it."""
        if not minimal:
            return self.text[: decl.start]
        earlier = [d for d in self.declarations if d.start < decl.start]
        wanted = set(self._identifiers(decl))
        dropped = []
        for d in reversed(earlier):
            if d.attributed or d.name in wanted:
                wanted |= self._identifiers(d)
            else:
                dropped.insert(0, d)
        pieces, cursor = [], 0
        for d in dropped:
            pieces.append(self.text[cursor : d.start] + "\n" * self.text.count("\n", d.start, d.end))
            cursor = d.end
        pieces.append(self.text[cursor : decl.start])
        return "".join(pieces)




def _assignment(code: Sequence[Token], begin: int) -> int | None:
    """Index of the first ``:=`` outside brackets from ``begin`` (``None`` for an
    equation-compiler ``|`` or ``where`` body)."""
    depth = 0
    for k in range(begin, len(code)):
        token = code[k]
        if token.kind != "symbol" and not _plain(token, frozenset(("where",))):
            continue
        if token.text in _OPENERS:
            depth += 1
        elif token.text in _CLOSERS:
            depth = max(depth - 1, 0)
        elif depth == 0 and token.text == ":=":
            return k
        elif depth == 0 and token.text in ("|", "where"):
            return None
    return None


def declared_name(statement: str) -> str | None:
    """The name a ``theorem``/``lemma`` statement declares (``None`` for ``example`` or
    text that does not tokenize)."""
    try:
        code = _code(tokenize(statement))
    except LexError:
        return None
    for k, token in enumerate(code[:-1]):
        if _plain(token, _DECL_KEYWORDS) and code[k + 1].kind == "ident":
            return code[k + 1].text
    return None


def tactic_statement(text: str) -> str:
    """``text`` as a statement for search: it must end in ``:= by``; a trailing ``sorry``
    (``:= by sorry`` or ``:= by`` and ``sorry`` on the next line, the MiniF2F and LeanDojo
    forms) is dropped. Anything else is a ``StatementError`` in one line."""
    stripped = text.strip()
    try:
        code = _code(tokenize(stripped))
    except LexError as exc:
        raise StatementError(f"statement: {exc}") from None
    assign = max((k for k, t in enumerate(code) if t.kind == "symbol" and t.text == ":="), default=None)
    if assign is None or assign + 1 >= len(code) or not _plain(code[assign + 1], frozenset(("by",))):
        raise StatementError("the statement must end with ':= by' (only tactic proofs are searched)")
    if any(not _plain(t, _SORRY) for t in code[assign + 2 :]):
        raise StatementError("the statement has a proof after ':= by'; give the statement alone (or end it with 'sorry')")
    return stripped[: code[assign + 1].end]


def split_imports(header: str) -> tuple[str, str]:
    """``(imports, rest)``: the leading ``import`` lines of ``header`` (with the comments
    among them) and everything after, split at a line end. Text that does not tokenize
    stays whole in ``imports``, so the REPL reports its error."""
    try:
        code = _code(tokenize(header))
    except LexError:
        return header, ""
    k, end = 0, 0
    if code[:1] and _plain(code[0], frozenset(("prelude",))):
        k, end = 1, code[0].end
    while k + 1 < len(code) and _plain(code[k], frozenset(("import",))) and code[k + 1].kind == "ident":
        end = code[k + 1].end
        k += 2
    if k == 0:
        return "", header
    newline = header.find("\n", end)
    split = len(header) if newline < 0 else newline + 1
    return header[:split], header[split:]
