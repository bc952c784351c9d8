"""Exceptions raised by proof checker backends.

User mistakes (a statement that does not parse) and infrastructure faults (no Lean
found, a dead process) are distinct classes so front ends can report each properly.
"""

from __future__ import annotations

__all__ = ["LeanEnvError", "StatementError", "BackendUnavailable", "EnvironmentFault"]


class LeanEnvError(Exception):
    """Base class of every error raised by ``lean_env``."""


class StatementError(LeanEnvError):
    """A theorem statement is malformed or does not elaborate (a user input error).

    ``line`` and ``column`` are 1-based positions in the statement when known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None and column is not None else ""
        super().__init__(where + message)


class BackendUnavailable(LeanEnvError):
    """The backend cannot run here (no Lean toolchain, optional package missing, ...)."""


class EnvironmentFault(LeanEnvError):
    """The checker failed in a way recovery could not repair (repeated crashes, ...)."""
