"""A tokenizer for Lean 4 source text, faithful where it matters for trust.

The tactic rules (``lean_env.hygiene``) and the declaration finder (``lean_env.source``)
must see exactly the tokens Lean sees: a ``sorry`` that Lean reads as code must never be
hidden inside what this lexer takes for a comment or a string. So it follows Lean's
own token functions (``Lean.Parser.Basic``): nested ``/- -/`` comments scanned two
characters at a time, string escapes, raw strings ``r"..."`` / ``r#"..."#``, char
literals at a token start, ``«»``-escaped and dotted identifiers, and Lean's identifier
characters (``Char.isAlpha`` is ASCII in Lean; ``λ``, ``Π``, ``Σ`` are not letters).
Where Lean's reading depends on its token table, which the lexer cannot see, the lexer
takes the reading that hides nothing: a ``'`` glued to a symbol continues the symbol
(Mathlib's ``⁻¹'``, ``''``) instead of opening a literal, and a comment opener glued to
a symbol (``<--``, ``\\/-``) raises ``LexError`` (callers refuse such text), as does an
unterminated comment or literal.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

__all__ = ["Token", "LexError", "tokenize", "is_id_first", "is_id_rest"]

_CLOSERS = set(")]}⟩⦄»\"'")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_CHAR_ESCAPE = re.compile(r"\\(?:[\\\"'ntr]|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\})")
_MULTI_SYMBOL = re.compile(r"<;>|:=|@\[|=>|\.\.|''")
# Lean's identifier characters as regex classes (the same ranges as the predicates below)
_LETTER_LIKE = "\u03b1-\u03ba\u03bc-\u03c9\u0391-\u039f\u03a1\u03a2\u03a4-\u03a9\u03ca-\u03fb\u1f00-\u1ffe\u2100-\u214f\U0001d49c-\U0001d59f"
_FIRST = f"A-Za-z_{_LETTER_LIKE}"
_REST = f"{_FIRST}0-9'!?\u2080-\u2089\u2090-\u209c\u1d62-\u1d6a"
_IDENT = re.compile(f"(?:«[^»]*»|[{_FIRST}][{_REST}]*)(?:\\.(?:«[^»]*»|[{_FIRST}][{_REST}]*))*")
# the common tokens in one match: blanks, identifiers (not a raw string's ``r``), numbers
_FAST = re.compile(f"(?P<space>[ \\t\\r\\n]+)|(?P<ident>(?!r#*\"){_IDENT.pattern})|(?P<number>{_NUMBER.pattern})")


def _letter_like(code: int) -> bool:
    """Lean's ``isLetterLike`` as in every toolchain since v4.0 (newer ones add Latin-1;
    leaving those out can only split an identifier, never hide a token)."""
    return (
        (0x3B1 <= code <= 0x3C9 and code != 0x3BB)
        or (0x391 <= code <= 0x3A9 and code not in (0x3A0, 0x3A3))
        or 0x3CA <= code <= 0x3FB
        or 0x1F00 <= code <= 0x1FFE
        or 0x2100 <= code <= 0x214F
        or 0x1D49C <= code <= 0x1D59F
    )


def _subscript(code: int) -> bool:
    return 0x2080 <= code <= 0x2089 or 0x2090 <= code <= 0x209C or 0x1D62 <= code <= 0x1D6A


def is_id_first(ch: str) -> bool:
    """Lean's ``isIdFirst``: ASCII letter, ``_`` or a letter-like symbol."""
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_" or _letter_like(ord(ch))


def is_id_rest(ch: str) -> bool:
    """Lean's ``isIdRest``: also digits, ``'``, ``!``, ``?`` and subscripts."""
    return is_id_first(ch) or ("0" <= ch <= "9") or ch in "'!?" or _subscript(ord(ch))


class LexError(ValueError):
    """Text this lexer cannot split into tokens the way Lean surely would."""

    def __init__(self, message: str, offset: int, text: str):
        self.offset = offset
        self.line = text.count("\n", 0, offset) + 1
        super().__init__(f"line {self.line}: {message}")


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ``ident``, ``hash`` (``#print``), ``symbol``, ``number``,
    ``string``, ``char``, ``name`` (a ``` `name``` literal) or ``comment``; ``start`` and
    ``end`` are offsets into the text, ``line`` counts from 1 and ``column`` from 0."""

    kind: str
    text: str
    start: int
    end: int
    line: int
    column: int

    @cached_property
    def parts(self) -> tuple[str, ...]:
        """The components of an identifier with ``«»`` removed and ``_root_`` dropped."""
        body = self.text.lstrip("`")
        parts = tuple(p[1:-1] if p.startswith("«") else p for p in re.findall(r"«[^»]*»|[^.«]+", body))
        return parts[1:] if parts[:1] == ("_root_",) else parts

    @property
    def last(self) -> str:
        """The last component of an identifier (``Lean.«ofReduceBool»`` gives ``ofReduceBool``)."""
        return self.parts[-1] if self.parts else ""

    @property
    def is_plain(self) -> bool:
        """An identifier written without dots or ``«»``: the only form a keyword takes."""
        return self.kind == "ident" and "." not in self.text and "«" not in self.text


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = []
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def error(self, message: str, offset: int) -> LexError:
        return LexError(message, offset, self.text)

    def emit(self, kind: str, start: int, end: int) -> int:
        line = bisect.bisect_right(self.line_starts, start)
        column = start - self.line_starts[line - 1]
        self.tokens.append(Token(kind, self.text[start:end], start, end, line, column))
        return end

    def run(self) -> list[Token]:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            fast = _FAST.match(text, i)
            if fast is not None and (fast.lastgroup != "ident" or not text.startswith(".«", fast.end())):
                i = fast.end() if fast.lastgroup == "space" else self.emit(fast.lastgroup, i, fast.end())
                continue
            ch, two = text[i], text[i : i + 2]
            if two in ("--", "/-"):
                self.check_comment_start(i)
                i = self.emit("comment", i, self.line_end(i) if two == "--" else self.block_end(i))
            elif ch == '"':
                i = self.emit("string", i, self.string_end(i))
            elif ch == "'" and text[i + 1 : i + 2] != "'" and self.at_token_start(i):
                i = self.emit("char", i, self.char_end(i))
            elif ch == "r" and re.match(r'r#*"', text[i : i + 260]):
                i = self.emit("string", i, self.raw_string_end(i))
            elif ch == "`" and (text[i + 1 : i + 2] == "«" or is_id_first(text[i + 1 : i + 2] or " ")):
                i = self.emit("name", i, self.ident_end(i + 1))
            elif ch == "«" or is_id_first(ch):
                i = self.emit("ident", i, self.ident_end(i))
            elif ch == "#" and i + 1 < n and is_id_first(text[i + 1]):
                i = self.emit("hash", i, self.ident_end(i + 1))
            else:
                multi = _MULTI_SYMBOL.match(text, i)
                i = self.emit("symbol", i, multi.end() if multi else i + 1)
        return self.tokens

    def at_token_start(self, i: int) -> bool:
        """Whether ``i`` surely starts a token: after a symbol character Lean's longest
        match may continue the symbol (Mathlib's ``⁻¹'``), so ``'`` there is no literal."""
        before = self.text[i - 1] if i else " "
        return before.isspace() or is_id_rest(before) or before in _CLOSERS

    def check_comment_start(self, i: int) -> None:
        """Refuse ``--`` or ``/-`` glued to a preceding symbol character: Lean reads the
        longest token first (``<-``, ``\\/``, ``//`` ...), so it may not be a comment."""
        if self.at_token_start(i):
            return
        before = self.text[i - 1]
        raise self.error(f"comment opener {self.text[i:i + 2]!r} right after {before!r} is ambiguous; put a space before it", i)

    def line_end(self, i: int) -> int:
        end = self.text.find("\n", i)
        return len(self.text) if end < 0 else end

    def block_end(self, i: int) -> int:
        """Past the ``-/`` closing the comment opened at ``i`` (nesting counted as Lean does)."""
        text, depth, j = self.text, 1, i + 2
        while j < len(text):
            two = text[j : j + 2]
            if two == "-/":
                depth, j = depth - 1, j + 2
                if depth == 0:
                    return j
            elif two == "/-":
                depth, j = depth + 1, j + 2
            else:
                j += 1
        raise self.error("unterminated comment", i)

    def string_end(self, i: int) -> int:
        text, j = self.text, i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
            elif text[j] == '"':
                return j + 1
            else:
                j += 1
        raise self.error("unterminated string literal", i)

    def raw_string_end(self, i: int) -> int:
        hashes = len(re.match(r"r(#*)", self.text[i:]).group(1))
        closing = '"' + "#" * hashes
        end = self.text.find(closing, i + 2 + hashes)
        if end < 0:
            raise self.error("unterminated raw string literal", i)
        return end + len(closing)

    def char_end(self, i: int) -> int:
        """Past a character literal (one character or one escape); Lean reads any ``'`` at
        a token start this way and fails on anything else, so malformed ones are errors."""
        text = self.text
        escape = _CHAR_ESCAPE.match(text, i + 1)
        if escape:
            end = escape.end()
        elif i + 1 < len(text) and text[i + 1] not in "\\\n":
            end = i + 2
        else:
            raise self.error("malformed character literal", i)
        if text[end : end + 1] != "'":
            raise self.error("malformed character literal", i)
        return end + 1

    def ident_end(self, i: int) -> int:
        """Past the (possibly dotted, possibly ``«»``-escaped) identifier starting at ``i``."""
        match = _IDENT.match(self.text, i)
        if match is None:  # only an unterminated «
            raise self.error("unterminated «name»", i)
        end = match.end()
        if self.text[end : end + 2] == ".«":  # a dotted part that never closes
            raise self.error("unterminated «name»", end + 1)
        return end


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` in order, comments included; ``LexError`` where Lean's
    reading is not certain."""
    return _Lexer(text).run()
