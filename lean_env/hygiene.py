"""Tactic text rules applied before anything reaches Lean.

A tactic (or a whole proof) is pasted into Lean source, so text that opens a new
command could declare axioms, end the proof early or smuggle in ``sorry``. These rules
reject such text and normalise the rest to what the REPL expects.

Reason codes (``HygieneResult.reason``):

* ``"empty"``: nothing but whitespace and comments;
* ``"control-character"``: a control character other than a newline;
* ``"new-command"``: a line starts a Lean command (``theorem``, ``#print``, ``end``,
  ``@[...]``, ``open X`` without ``in``, ...);
* ``"sorry"``: ``sorry``, ``admit`` or ``sorryAx`` used as a token (comments, strings
  and identifiers such as ``sorry_lemma`` do not count);
* ``"native-decide"``: ``native_decide``, ``decide +native`` or ``ofReduceBool``
  (trusts the compiler), unless allowed.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

__all__ = ["HygieneResult", "check_tactic", "normalise", "REASONS"]

REASONS = ("empty", "control-character", "new-command", "sorry", "native-decide")

_TAB_WIDTH = 2
_BEFORE = r"(?<![\w'!?«».])"  # not preceded by an identifier character or a dot
_AFTER = r"(?![\w'!?«»])"  # not followed by an identifier character
_COMMANDS = (
    "theorem lemma example def abbrev axiom axioms instance structure class inductive "
    "coinductive opaque import end namespace section noncomputable private protected "
    "unsafe partial universe variable include omit export macro macro_rules elab "
    "elab_rules syntax notation infix infixl infixr prefix postfix attribute deriving "
    "mutual initialize builtin_initialize declare_syntax_cat add_decl_doc"
).split()
_COMMAND_LINE = re.compile(
    r"^[ ]*(?:(?P<kw>" + "|".join(_COMMANDS) + r")" + _AFTER + r"|(?P<hash>#[A-Za-z_][\w.]*)|(?P<attr>@\[))",
    re.MULTILINE,
)
# ``open Foo in tac`` and ``set_option x v in tac`` are tactic combinators; without
# ``in`` they are commands that end the proof.
_SCOPED_LINE = re.compile(r"^[ ]*(?P<kw>open|set_option)" + _AFTER + r"(?P<rest>[^\n]*)$", re.MULTILINE)
_IN_TOKEN = re.compile(_BEFORE + "in" + _AFTER)
_SORRY = re.compile(_BEFORE + "(?:sorry|admit|sorryAx)" + _AFTER)
# ``Lean.ofReduceBool`` is the axiom behind all three spellings of native evaluation.
_NATIVE = re.compile(
    _BEFORE + "(?:native_decide" + _AFTER + r"|decide\s*\+native" + _AFTER + r"|native\s*:=\s*true" + _AFTER + ")"
    + r"|ofReduceBool" + _AFTER
)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class HygieneResult:
    """Outcome of ``check_tactic``: ``text`` is the normalised tactic to send when ``ok``;
    otherwise ``reason`` is one of ``REASONS`` and ``detail`` says where."""

    ok: bool
    text: str
    reason: str = ""
    detail: str = ""


def normalise(text: str) -> str:
    """CRLF/CR to LF, tabs to spaces, trailing blanks and blank edge lines dropped,
    common indentation removed: the form the REPL and a Lean file both accept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(_TAB_WIDTH)
    lines = [line.rstrip() for line in text.split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _mask(text: str) -> str:
    """``text`` with comments and string/char literals blanked (newlines kept), so the
    rules see only code and positions stay the same."""
    out = list(text)
    i, n, depth = 0, len(text), 0
    while i < n:
        two = text[i : i + 2]
        if depth:
            if two == "/-":
                depth, width = depth + 1, 2
            elif two == "-/":
                depth, width = depth - 1, 2
            else:
                width = 1
            _blank(out, i, i + width)
            i += width
        elif two == "/-":
            depth = 1
            _blank(out, i, i + 2)
            i += 2
        elif two == "--":
            end = text.find("\n", i)
            end = n if end < 0 else end
            _blank(out, i, end)
            i = end
        elif text[i] == '"':
            end = _literal_end(text, i, '"')
            _blank(out, i, end)
            i = end
        elif text[i] == "'" and _is_char_literal(text, i):
            end = _literal_end(text, i, "'")
            _blank(out, i, end)
            i = end
        else:
            i += 1
    return "".join(out)


def _blank(chars: list[str], start: int, end: int) -> None:
    for j in range(start, end):
        if chars[j] != "\n":
            chars[j] = " "


def _literal_end(text: str, start: int, quote: str) -> int:
    """Index just past the literal opened at ``start`` (backslash escapes honoured)."""
    i = start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return min(i + 1, len(text))


def _is_char_literal(text: str, i: int) -> bool:
    """``'a'`` or ``'\\n'`` is a char literal; ``h'`` (a primed name) is not."""
    if i > 0 and re.match(r"[\w'!?«».]", text[i - 1]):
        return False
    return bool(re.match(r"'(?:\\.[^']*|[^'\\\n])'", text[i:]))


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def check_tactic(text: str, *, allow_native_decide: bool = False) -> HygieneResult:
    """Apply every hygiene rule to a tactic or whole proof; the first violation wins."""
    norm = normalise(text)
    control = _CONTROL.search(norm)
    if control:
        return HygieneResult(False, norm, "control-character", f"character {control.group()!r} at line {_line_of(norm, control.start())}")
    code = _mask(norm)
    if not code.strip():
        return HygieneResult(False, norm, "empty", "no tactic text")
    command = _COMMAND_LINE.search(code)
    if command:
        word = command.group("kw") or command.group("hash") or command.group("attr")
        return HygieneResult(False, norm, "new-command", f"line {_line_of(code, command.start())} starts a command: {word!r}")
    for scoped in _SCOPED_LINE.finditer(code):
        if not _IN_TOKEN.search(scoped.group("rest")):
            kw = scoped.group("kw")
            return HygieneResult(False, norm, "new-command", f"line {_line_of(code, scoped.start())}: {kw!r} without 'in'")
    sorry = _SORRY.search(code)
    if sorry:
        return HygieneResult(False, norm, "sorry", f"{sorry.group()!r} at line {_line_of(code, sorry.start())}")
    native = None if allow_native_decide else _NATIVE.search(code)
    if native:
        return HygieneResult(False, norm, "native-decide", f"{native.group()!r} at line {_line_of(code, native.start())}")
    return HygieneResult(True, norm)
