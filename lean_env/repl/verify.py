"""Judging a whole-proof check from the REPL's reply: errors, sorry, axioms.

Pure functions over typed responses, so the rules are tested without a REPL. Message
texts change between toolchains (``declaration uses 'sorry'`` became
``declaration uses `sorry```), so the checks look at structure and stable fragments.
The statement, proof and ``#print axioms`` go in one command; only the report at the
audit command's line counts, and only when it is the one report in the reply.
"""

from __future__ import annotations

from lean_env.axioms import read_axiom_report
from lean_env.repl.protocol import CommandResponse, ErrorResponse, Response

__all__ = ["compile_problem", "read_audit"]


def compile_problem(response: Response) -> tuple[str, str]:
    """``(failure, reason)`` when a compiled proof is not accepted, ``("", "")`` when it
    compiled cleanly: an error response or message (``error``), or any ``sorry`` (a
    sorries entry or the "declaration uses sorry" warning; ``sorry``)."""
    if isinstance(response, ErrorResponse):
        return "error", f"REPL error: {response.message}"
    if not isinstance(response, CommandResponse):
        return "error", f"unexpected response {type(response).__name__}"
    if response.errors:
        return "error", "error: " + response.errors[0].data
    if response.sorries or any("declaration uses" in m.data and "sorry" in m.data for m in response.messages):
        return "sorry", "the proof uses sorry"
    return "", ""


def read_audit(response: Response, audit_line: int) -> tuple[tuple[str, ...] | None, str]:
    """``(axioms, problem)`` of the ``#print axioms`` command at ``audit_line`` of the
    compiled text: exactly one axioms report in the reply, and it at that line."""
    if not isinstance(response, CommandResponse):
        return None, "could not read the axioms the proof depends on"
    trusted = [m.severity == "info" and m.pos is not None and m.pos.line == audit_line for m in response.messages]
    return read_axiom_report((m.data for m in response.messages), trusted=trusted)
