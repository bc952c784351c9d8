"""Whole proofs out of model completions.

Whole-proof provers answer in one of two shapes: a continuation of the statement
(DeepSeek-Prover-V1.5 completes the code block its prompt opened, then closes the fence),
or a reply that restates the theorem in a ``lean4`` code block, often after a plan and
before some prose (DeepSeek-Prover-V2, Goedel-Prover-V2, Kimina-Prover). Either way the
proof is the tactic text after the theorem's ``:= by``, up to the first line at or left of
the declaration's column (where Lean itself would start a new command), dedented as
``Theorem.with_proof`` expects.
"""

from __future__ import annotations

import re
import textwrap

from lean_env.source import declared_name
from lean_env.types import Theorem

__all__ = ["extract_proof", "code_blocks"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DECLARATION = re.compile(
    r"^([ \t]*)(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable)\s+)*(theorem|lemma|example)\b[ \t]*([^\s:({\[]*)",
    re.MULTILINE,
)
_OPEN, _CLOSE = "([{⟨", ")]}⟩"


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks tagged ``lean4``, ``lean`` or untagged; a
    block the completion did not close runs to the end of the text."""
    return [body for tag, body in _FENCE.findall(text) if tag in ("", "lean", "lean4")]


def extract_proof(completion: str, theorem: Theorem) -> str:
    """The tactic proof of ``theorem`` in ``completion``: from the last code block that
    declares it (or, failing that, any theorem), else from the text before the first fence
    read as a continuation of the statement. Empty when nothing is left."""
    name = declared_name(theorem.statement)
    blocks = code_blocks(completion)
    for wanted in (name, None):
        for block in reversed(blocks):
            found = _declaration(block, wanted)
            if found is not None:
                return _body_after(block, found)
    prefix = completion.split("```", 1)[0]
    found = _declaration(prefix, name)
    if found is not None:
        return _body_after(prefix, found)
    # a continuation of the prompt's statement, declared at column 0: an indented proof
    # ends where a line starts at column 0 (trailing prose, a new command)
    first = next((line for line in prefix.splitlines() if line.strip()), "")
    return _tactic_lines(prefix, column=0 if first[:1].isspace() else -1)


def _declaration(code: str, name: str | None) -> re.Match[str] | None:
    """The last ``theorem``/``example`` declaration (``lemma`` too when named ``name``)."""
    matches = [
        m for m in _DECLARATION.finditer(code)
        if (m.group(3) == name if name else m.group(2) != "lemma")
    ]
    return matches[-1] if matches else None


def _body_after(code: str, declaration: re.Match[str]) -> str:
    """The proof of the declaration: the tactics after ``:= by``, or ``exact`` of a term."""
    column = len(declaration.group(1).expandtabs())
    start = _assignment(code, declaration.end())
    if start is None:
        return ""
    rest = code[start:]
    tactic = re.match(r"[ \t]*by\b", rest)
    first, _, following = (rest[tactic.end():] if tactic else rest).partition("\n")
    body = _tactic_lines(following, column=column)
    first = first.strip()
    if tactic:
        return f"{first}\n{body}".strip("\n") if first else body
    return f"exact {first}".rstrip() + f"\n{textwrap.indent(body, '  ')}".rstrip() if first or body else ""


def _assignment(code: str, start: int) -> int | None:
    """Index just past the declaration's ``:=`` (outside any brackets), or ``None``."""
    depth = 0
    for i in range(start, len(code) - 1):
        char = code[i]
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0 and code.startswith(":=", i):
            return i + 2
    return None


def _tactic_lines(text: str, *, column: int) -> str:
    """Leading lines of ``text`` indented past ``column`` (blank lines kept inside),
    dedented; ``column=-1`` keeps every line."""
    kept: list[str] = []
    for line in text.splitlines():
        if line.strip() and len(line) - len(line.lstrip()) <= column:
            break
        kept.append(line.rstrip())
    return textwrap.dedent("\n".join(kept)).strip("\n")
