"""Judging a whole-proof check from REPL responses: errors, sorry, axioms.

Pure functions over typed responses, so the rules are tested without a REPL. Message
texts change between toolchains (``declaration uses 'sorry'`` became
``declaration uses `sorry```), so the checks look at structure and stable fragments.
"""

from __future__ import annotations

import re

from lean_env.repl.protocol import CommandResponse, ErrorResponse, Response

__all__ = ["declared_name", "compile_problem", "parse_axioms", "axiom_problem", "print_axioms_command"]

_DECL = re.compile(
    r"^\s*(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*(?:theorem|lemma)\s+(?P<name>[^\s:({\[⦃]+)",
    re.MULTILINE,
)
_DEPENDS = re.compile(r"depends on axioms:\s*\[(?P<list>[^\]]*)\]", re.DOTALL)
_NO_AXIOMS = "does not depend on any axioms"


def declared_name(statement: str) -> str | None:
    """Name declared by a ``theorem``/``lemma`` statement (``None`` for ``example``)."""
    match = _DECL.search(statement)
    return match.group("name") if match else None


def print_axioms_command(name: str) -> str:
    return f"#print axioms {name}"


def compile_problem(response: Response) -> str:
    """Why a compiled proof is not accepted, or ``""``: an error response, an error
    message, or any ``sorry`` (a sorries entry or the "declaration uses sorry" warning)."""
    if isinstance(response, ErrorResponse):
        return f"REPL error: {response.message}"
    if not isinstance(response, CommandResponse):
        return f"unexpected response {type(response).__name__}"
    if response.errors:
        return "error: " + response.errors[0].data
    if response.sorries or any("declaration uses" in m.data and "sorry" in m.data for m in response.messages):
        return "the proof uses sorry"
    return ""


def parse_axioms(response: Response) -> tuple[str, ...] | None:
    """Axioms listed by ``#print axioms`` (``()`` for none), ``None`` if not found."""
    if not isinstance(response, CommandResponse):
        return None
    for message in response.messages:
        if _NO_AXIOMS in message.data:
            return ()
        match = _DEPENDS.search(message.data)
        if match:
            return tuple(a.strip() for a in match.group("list").split(",") if a.strip())
    return None


def axiom_problem(axioms: tuple[str, ...] | None, allowed: tuple[str, ...]) -> str:
    """Why the axioms are not acceptable, or ``""``."""
    if axioms is None:
        return "could not read the axioms the proof depends on"
    extra = [a for a in axioms if a not in allowed]
    return f"uses axioms outside the allow-list: {', '.join(extra)}" if extra else ""
