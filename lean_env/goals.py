"""Lean's pretty-printed goals as text: one parser for every backend and proposer that reads them.

A goal is an optional ``case tag`` line, hypothesis lines ``x y : T`` (``let`` values
written ``x : T := v``), then ``⊢ target``; lines indented deeper than the entries
continue the previous hypothesis or the target. ``fresh_name`` invents hypothesis names
the way Lean's own tactics do (``h``, ``h₁``, ``h₂``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import count
from typing import Iterator

from lean_env.errors import StatementError

__all__ = ["Hypothesis", "ParsedGoal", "parse_goal", "split_top", "fresh_name"]

_DECL_TYPE = re.compile(r"^(?:[ℕℤℚℝℂ]|ℕ\+|ℝ≥0|NNReal|Prop|Type.*|Sort.*|[ℕℤℚℝℂ ()×→]+|(?:Finset|Set|Fin|List|Polynomial|Matrix)\b.*)$")
_OPEN, _CLOSE = "([{⟨⦃", ")]}⟩⦄"
_BINDERS = ("∀", "∃", "fun ", "λ", "∑", "∏", "⨆", "⨅", "∫")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Hypothesis:
    """One context line: the names sharing it, their type and, for a ``let``, its value
    (kept apart from the type, ``None`` otherwise)."""

    names: tuple[str, ...]
    type: str
    value: str | None = None

    @property
    def is_declaration(self) -> bool:
        """A variable of a type (``x : ℝ``, ``f : ℕ → ℝ``) rather than a fact (``h : 0 < x``)."""
        return bool(_DECL_TYPE.match(self.type))


@dataclass(frozen=True)
class ParsedGoal:
    """A pretty-printed Lean goal split into its case tag, hypotheses and target."""

    case: str | None
    hypotheses: tuple[Hypothesis, ...]
    target: str

    @property
    def names(self) -> frozenset[str]:
        """Every name in the local context."""
        return frozenset(name for hyp in self.hypotheses for name in hyp.names)

    def facts(self) -> Iterator[tuple[str, str]]:
        """``(name, proposition)`` for every hypothesis that is a fact."""
        for hyp in self.hypotheses:
            if not hyp.is_declaration:
                yield from ((name, hyp.type) for name in hyp.names)

    def variable_types(self) -> dict[str, str]:
        """``name -> type`` for every hypothesis that declares a variable."""
        return {name: hyp.type for hyp in self.hypotheses if hyp.is_declaration for name in hyp.names}


def _squash(text: str) -> str:
    return " ".join(text.split())


def _entries(text: str) -> tuple[str | None, list[str]]:
    """The case tag and the goal's entries: continuation lines joined, blank lines dropped."""
    entries: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        if entries and line[:1].isspace():
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    if entries and entries[0].startswith("case "):
        return entries[0][5:].strip(), entries[1:]
    return None, entries


def _check(entries: list[str]) -> None:
    """Raise ``StatementError`` unless every entry but the last is a hypothesis line and the
    last is the ``⊢`` line (line numbers count entries after the case tag)."""
    if not entries or not entries[-1].startswith("⊢"):
        raise StatementError("goal text has no '⊢' line", 1, 1)
    for number, entry in enumerate(entries[:-1], 1):
        if entry.startswith("⊢") or " : " not in entry:
            raise StatementError("hypothesis line without ' : '", number, 1)


def parse_goal(text: str, *, strict: bool = False) -> ParsedGoal:
    """Parse one goal as Lean pretty-prints it. Lenient by default: it never raises (a line
    without `` : `` is skipped, no ``⊢`` gives an empty target); ``strict`` raises
    ``StatementError`` for text that is not exactly hypothesis lines and a final ``⊢`` line.
    """
    case, entries = _entries(text)
    if strict:
        _check(entries)
    hypotheses, target = [], ""
    for entry in entries:
        if entry.startswith("⊢"):
            target = _squash(entry[1:])
            continue
        names, sep, rest = entry.partition(" : ")
        if not sep:
            continue
        type_text, *value = split_top(rest, " := ")
        let_value = _squash(" := ".join(value)) if value else None
        hypotheses.append(Hypothesis(tuple(names.split()), _squash(type_text), let_value))
    return ParsedGoal(case, tuple(hypotheses), target)


def split_top(text: str, op: str) -> list[str]:
    """Split at depth-0 occurrences of ``op``; a binder (∀, ∃, fun, ∑...) extends to the end."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif depth == 0 and text.startswith(_BINDERS, i):
            break
        elif depth == 0 and text.startswith(op, i):
            parts.append(text[start:i].strip())
            start = i = i + len(op)
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, else ``base₁``, ``base₂``...: the first name not in ``taken``, which it then
    joins (so successive calls with one set give distinct names)."""
    candidates = (base + (str(n).translate(_SUBSCRIPTS) if n else "") for n in count())
    name = next(c for c in candidates if c not in taken)
    taken.add(name)
    return name
