"""Typed, immutable values exchanged with every proof checker backend.

Everything a search or a model sees of a proof checker goes through these types, so
that the sandbox, the Lean REPL and LeanDojo are interchangeable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Hashable, Union

__all__ = [
    "Theorem",
    "ProofState",
    "canonical_goals",
    "NewState",
    "ProofComplete",
    "TacticError",
    "TacticRejected",
    "StepTimeout",
    "EnvCrash",
    "StepResult",
    "Verdict",
    "FAILURES",
]

_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)


@dataclass(frozen=True)
class Theorem:
    """A formal statement to prove.

    ``statement`` is the Lean declaration up to and including ``:= by`` (no proof);
    ``header`` holds the imports, ``open`` and ``set_option`` lines placed before it.
    """

    name: str
    statement: str
    header: str = ""
    informal: str | None = None
    source: str | None = None
    split: str | None = None

    def with_proof(self, proof: str) -> str:
        """The full Lean source of this theorem closed by ``proof`` (tactic text after ``by``)."""
        body = "\n".join("  " + line if line.strip() else line for line in proof.splitlines())
        return f"{self.header}{self.statement}\n{body}\n"


def canonical_goals(goals: tuple[str, ...]) -> str:
    """Canonical text of a goal list: Lean's pretty-printing with line endings and
    trailing blanks normalised, goals separated by a blank line. Used as a dedup key."""
    parts = [_TRAILING_WS.sub("", g.replace("\r\n", "\n").strip("\n")) for g in goals]
    return "\n\n".join(parts)


@dataclass(frozen=True)
class ProofState:
    """A handle on an open proof state inside one backend.

    ``goals`` are pretty-printed exactly as Lean prints them (``case tag`` line if any,
    hypotheses one per line, then ``⊢ target``). ``handle`` is the backend's own
    reference (a REPL ``proofState`` id, a sandbox node, ...); it does not take part in
    equality, so two states with the same goals compare equal whatever path reached them.
    """

    goals: tuple[str, ...]
    handle: Hashable = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Canonical goal text, the deduplication key of this state."""
        return canonical_goals(self.goals)

    @property
    def pp(self) -> str:
        """Pretty-printed goals as a model prompt would show them."""
        return self.key if self.goals else "no goals"

    @property
    def is_solved(self) -> bool:
        return not self.goals


@dataclass(frozen=True)
class NewState:
    """The tactic ran and left open goals. ``messages`` keeps non-error output (warnings, infos)."""

    state: ProofState
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProofComplete:
    """The tactic ran and no goals remain."""

    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class TacticError:
    """The checker rejected the tactic; ``message`` is its error text and ``position``,
    when the checker gave one, where in the tactic text it points: (line from 1, column
    from 0), as Lean counts them."""

    message: str
    position: tuple[int, int] | None = None


@dataclass(frozen=True)
class TacticRejected:
    """The tactic text was refused before reaching the checker (hygiene rule, outside the
    fragment); ``position`` as in ``TacticError``."""

    reason: str
    message: str = ""
    position: tuple[int, int] | None = None


@dataclass(frozen=True)
class StepTimeout:
    """The step ran past its time limit and was stopped."""

    seconds: float


@dataclass(frozen=True)
class EnvCrash:
    """The checker process failed during the step. ``state_lost`` says whether the
    state the step started from can no longer be used."""

    reason: str
    state_lost: bool = False


StepResult = Union[NewState, ProofComplete, TacticError, TacticRejected, StepTimeout, EnvCrash]


FAILURES = ("rejected", "statement", "error", "sorry", "axioms", "timeout", "crash")
"""Kinds of failed verdicts: refused by the text rules; the statement or its context did
not elaborate; Lean reported an error; the proof uses sorry; axioms outside the
allow-list (or no trustworthy report); the check ran out of time; the checker failed
(including a reply out of step with its request)."""


@dataclass(frozen=True)
class Verdict:
    """Outcome of an independent whole-proof check of ``proof`` for ``theorem``.

    ``failure`` is one of ``FAILURES`` when not ``ok`` and the backend can tell (else
    ``""``); ``messages`` keeps Lean's messages with their positions (``severity
    line:column: text``), ``axioms`` what ``#print axioms`` reported."""

    theorem: str
    proof: str
    ok: bool
    checker: str
    reason: str = ""
    messages: tuple[str, ...] = ()
    axioms: tuple[str, ...] | None = None
    seconds: float = 0.0
    failure: str = ""
