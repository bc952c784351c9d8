"""Typed wire models of the leanprover-community/repl JSON protocol.

Requests are encoded as one JSON object on one line followed by a blank line (the REPL
joins the lines of a block with no separator, so a raw newline inside a string would be
lost; ``json.dumps`` escapes it as ``\\n``). Responses are decoded from the parsed JSON
into frozen dataclasses, and tactic responses are mapped to ``StepResult`` values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Union

from lean_env.errors import StatementError
from lean_env.hygiene import single_tactic
from lean_env.types import (
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepResult,
    TacticError,
)

__all__ = [
    "ProtocolError",
    "Pos",
    "Message",
    "Sorry",
    "TacticInfo",
    "CommandRequest",
    "TacticRequest",
    "Request",
    "CommandResponse",
    "TacticResponse",
    "ErrorResponse",
    "Response",
    "COMPLETED",
    "UNKNOWN_PROOF_STATE",
    "single_tactic",
    "encode_request",
    "decode_response",
    "to_step_result",
    "statement_error",
]

COMPLETED = "Completed"
UNKNOWN_PROOF_STATE = "Unknown proof state."


class ProtocolError(ValueError):
    """A JSON value that is not a REPL response of any known shape."""


@dataclass(frozen=True)
class Pos:
    """A source position: ``line`` from 1, ``column`` from 0 (0/0 in tactic mode)."""

    line: int
    column: int


@dataclass(frozen=True)
class Message:
    """A Lean message (``severity`` is ``info``, ``warning``, ``error`` or ``trace``)."""

    severity: str
    data: str
    pos: Pos | None = None
    end_pos: Pos | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self) -> str:
        """``severity line:column: data``, the form kept in verdicts and logs."""
        where = f" {self.pos.line}:{self.pos.column}" if self.pos else ""
        return f"{self.severity}{where}: {self.data}"


@dataclass(frozen=True)
class Sorry:
    """A ``sorry`` in the submitted text, with the proof state that fills it."""

    goal: str
    proof_state: int | None = None
    pos: Pos | None = None
    end_pos: Pos | None = None


@dataclass(frozen=True)
class TacticInfo:
    """One ``allTactics`` entry: ``goals`` is the whole state *before* ``tactic`` as one
    string (``"no goals"`` when empty); ``used_constants`` is absent before late 2024."""

    tactic: str
    goals: str
    proof_state: int
    pos: Pos | None = None
    end_pos: Pos | None = None
    used_constants: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CommandRequest:
    """Elaborate ``cmd`` in environment ``env`` (a fresh one when ``None``)."""

    cmd: str
    env: int | None = None
    all_tactics: bool = False
    root_goals: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cmd": self.cmd}
        if self.env is not None:
            out["env"] = self.env
        if self.all_tactics:
            out["allTactics"] = True
        if self.root_goals:
            out["rootGoals"] = True
        return out


@dataclass(frozen=True)
class TacticRequest:
    """Run ``tactic`` on stored proof state ``proof_state``."""

    tactic: str
    proof_state: int

    def to_json(self) -> dict[str, Any]:
        return {"tactic": self.tactic, "proofState": self.proof_state}


Request = Union[CommandRequest, TacticRequest]


@dataclass(frozen=True)
class CommandResponse:
    """Answer to a command (also to pickling an environment): a new ``env`` id."""

    env: int
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[TacticInfo, ...] = ()
    infotree: Any = field(default=None, compare=False, repr=False)

    @property
    def errors(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.is_error)


@dataclass(frozen=True)
class TacticResponse:
    """Answer to a tactic (also to (un)pickling a proof state): a new ``proof_state``.
    ``proof_status`` exists from REPL v4.24 on (``None`` before)."""

    proof_state: int
    goals: tuple[str, ...]
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    traces: tuple[str, ...] = ()
    proof_status: str | None = None

    @property
    def errors(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.is_error)


@dataclass(frozen=True)
class ErrorResponse:
    """``{"message": ...}``: the request failed outright and created no new id."""

    message: str


Response = Union[CommandResponse, TacticResponse, ErrorResponse]


def encode_request(request: Request) -> bytes:
    """One request as UTF-8 bytes: a single JSON line and the blank line ending the block.
    Non-ASCII stays literal (Lean reads UTF-8; ``\\u`` surrogate pairs are avoided)."""
    return (json.dumps(request.to_json(), ensure_ascii=False) + "\n\n").encode("utf-8")


def _pos(raw: Any) -> Pos | None:
    return Pos(int(raw["line"]), int(raw["column"])) if isinstance(raw, Mapping) else None


def _message(raw: Mapping[str, Any]) -> Message:
    return Message(str(raw["severity"]), str(raw["data"]), _pos(raw.get("pos")), _pos(raw.get("endPos")))


def _sorry(raw: Mapping[str, Any]) -> Sorry:
    ps = raw.get("proofState")
    return Sorry(str(raw["goal"]), None if ps is None else int(ps), _pos(raw.get("pos")), _pos(raw.get("endPos")))


def _tactic_info(raw: Mapping[str, Any]) -> TacticInfo:
    used = raw.get("usedConstants")
    return TacticInfo(
        tactic=str(raw["tactic"]),
        goals=str(raw["goals"]),
        proof_state=int(raw["proofState"]),
        pos=_pos(raw.get("pos")),
        end_pos=_pos(raw.get("endPos")),
        used_constants=None if used is None else tuple(str(c) for c in used),
    )


def decode_response(raw: Any) -> Response:
    """Typed response from one parsed JSON value; the shape decides the type."""
    if not isinstance(raw, Mapping):
        raise ProtocolError(f"expected a JSON object, got {type(raw).__name__}")
    try:
        messages = tuple(_message(m) for m in raw.get("messages", ()))
        sorries = tuple(_sorry(s) for s in raw.get("sorries", ()))
        if "proofState" in raw and "goals" in raw:
            return TacticResponse(
                proof_state=int(raw["proofState"]),
                goals=tuple(str(g) for g in raw["goals"]),
                messages=messages,
                sorries=sorries,
                traces=tuple(str(t) for t in raw.get("traces", ())),
                proof_status=raw.get("proofStatus"),
            )
        if "env" in raw:
            tactics = tuple(_tactic_info(t) for t in raw.get("tactics", ()))
            return CommandResponse(int(raw["env"]), messages, sorries, tactics, raw.get("infotree"))
        if set(raw) == {"message"}:
            return ErrorResponse(str(raw["message"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed REPL response: {exc!r}") from exc
    raise ProtocolError(f"unknown REPL response shape with keys {sorted(raw)}")


def _is_complete(response: TacticResponse) -> bool:
    """No goals left and nothing owed: ``Completed`` on v4.24+; on older REPLs (no
    ``proofStatus``) no sorry was used. Errors were ruled out before."""
    if response.goals:
        return False
    if response.proof_status is None:
        return not response.sorries
    return response.proof_status == COMPLETED


def to_step_result(response: Response, *, handle_for: Callable[[int], Hashable]) -> StepResult:
    """Map a tactic-mode response to a ``StepResult``; ``handle_for`` turns the new
    ``proofState`` id into the backend handle of the resulting ``ProofState``.

    An error message always means failure, even with a new proof state (Lean's error
    recovery inserts a ``sorry``); so does a new ``sorry`` or a ``proofStatus`` that
    rules the proof out (``Error: ...``, metavariables, sorry with no goals left).
    """
    if isinstance(response, ErrorResponse):
        if response.message == UNKNOWN_PROOF_STATE:
            return EnvCrash(reason=response.message, state_lost=True)
        return TacticError(response.message)
    if not isinstance(response, TacticResponse):
        return EnvCrash(reason=f"expected a tactic response, got {type(response).__name__}")
    if response.errors:
        return TacticError("\n".join(m.data for m in response.errors))
    if response.sorries:
        return TacticError("the tactic introduced sorry")
    notes = tuple(m.data for m in response.messages) + response.traces
    if _is_complete(response):
        return ProofComplete(messages=notes)
    if not response.goals:
        return TacticError(f"no goals left but the proof is not complete: {response.proof_status}")
    if response.proof_status is not None and response.proof_status.startswith("Error"):
        return TacticError(response.proof_status)
    state = ProofState(goals=response.goals, handle=handle_for(response.proof_state))
    return NewState(state=state, messages=notes)


def statement_error(response: Response, *, prefix: str = "", line_offset: int = 0) -> StatementError | None:
    """The user-facing error for a command that should have elaborated, else ``None``:
    Lean's first error with its 1-based line (shifted by ``line_offset``, for a command
    that is a later part of a text) and column, or the REPL's own error."""
    if isinstance(response, ErrorResponse):
        return StatementError(prefix + response.message)
    if not isinstance(response, CommandResponse):
        return StatementError(f"{prefix}unexpected REPL response {type(response).__name__}")
    if not response.errors:
        return None
    first = response.errors[0]
    if first.pos is None:
        return StatementError(prefix + first.data)
    return StatementError(prefix + first.data, first.pos.line + line_offset, first.pos.column + 1)
