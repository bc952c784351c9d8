"""The axiom audit shared by every backend that can run ``#print axioms``.

A proof is accepted only if the axioms its theorem depends on are all allowed: Lean's
three standard axioms, plus, when native evaluation is allowed, the two that
``native_decide`` and ``bv_decide`` add (``Lean.ofReduceBool``, and since Lean 4.21
``Lean.trustCompiler``). The report is read strictly: exactly one ``#print axioms``
answer may appear, so a proof that logs a look-alike message (``trace "... does not
depend on any axioms"``) is refused rather than believed.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["DEFAULT_AXIOMS", "NATIVE_AXIOMS", "accepted_axioms", "print_axioms_command", "read_axiom_report", "axiom_problem"]

DEFAULT_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
NATIVE_AXIOMS = ("Lean.ofReduceBool", "Lean.trustCompiler")



def accepted_axioms(allowed: Iterable[str], *, allow_native_decide: bool) -> tuple[str, ...]:
    """The allow-list in force: ``allowed`` plus ``NATIVE_AXIOMS`` when native evaluation is allowed."""
    return tuple(dict.fromkeys((*allowed, *(NATIVE_AXIOMS if allow_native_decide else ()))))


def print_axioms_command(name: str) -> str:
    return f"#print axioms {name}"


_REPORT = re.compile(r"depends on axioms:\s*\[(?P<list>[^\]]*)\]|(?P<none>does not depend on any axioms)", re.DOTALL)


def _reports(text: str) -> list[tuple[str, ...]]:
    """Every ``#print axioms`` report in ``text`` (a message, or several printed as lines)."""
    return [() if m.group("none") else tuple(a.strip() for a in m.group("list").split(",") if a.strip())
            for m in _REPORT.finditer(text)]


def read_axiom_report(texts: Iterable[str], *, trusted: Iterable[bool] | None = None) -> tuple[tuple[str, ...] | None, str]:
    """``(axioms, problem)`` from message texts: the axioms when exactly one report appears
    in all of them and it is in a trusted text (``trusted`` marks, per text, whether it
    comes from the audit command itself; all are trusted when omitted)."""
    texts = list(texts)
    marks = list(trusted) if trusted is not None else [True] * len(texts)
    reports = [(report, mark) for text, mark in zip(texts, marks) for report in _reports(text)]
    if not reports:
        return None, "could not read the axioms the proof depends on"
    if len(reports) > 1 or not reports[0][1]:
        return None, "more than one axioms report (the proof printed a look-alike); refused"
    return reports[0][0], ""


def axiom_problem(axioms: tuple[str, ...] | None, accepted: Iterable[str]) -> str:
    """Why the axioms are not acceptable, or ``""``."""
    if axioms is None:
        return "could not read the axioms the proof depends on"
    extra = [a for a in axioms if a not in set(accepted)]
    return f"uses axioms outside the allow-list: {', '.join(extra)}" if extra else ""
