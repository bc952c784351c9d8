"""Configuration of the Lean REPL backend, in one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lean_env.axioms import DEFAULT_AXIOMS, accepted_axioms
from lean_env.limits import EnvLimits
from lean_env.repl.process import ProcessSpec

__all__ = ["ReplConfig", "DEFAULT_AXIOMS"]


@dataclass(frozen=True)
class ReplConfig:
    """How to run REPL workers and what to accept from them.

    ``command`` runs the REPL inside ``cwd`` (a Lean project with Mathlib), e.g.
    ``("lake", "env", "/path/repl/.lake/build/bin/repl")``. ``limits`` bounds the pool's
    processes, time and memory; a reply over ``max_reply_mb`` is a crash; after
    ``max_restarts`` consecutive failed starts the pool gives up. ``allow_native_decide``
    lets ``native_decide`` and ``bv_decide`` through the tactic rules and adds the axioms
    they use to ``allowed_axioms`` (see ``accepted_axioms``).
    """

    command: tuple[str, ...]
    cwd: Path
    limits: EnvLimits = EnvLimits()
    max_restarts: int = 3
    restart_backoff_s: float = 0.5
    allow_native_decide: bool = False
    allowed_axioms: tuple[str, ...] = DEFAULT_AXIOMS
    max_reply_mb: float = 256

    def __post_init__(self) -> None:
        if not self.command:
            raise ValueError("ReplConfig.command is empty")
        if self.max_restarts < 1:
            raise ValueError("ReplConfig.max_restarts must be at least 1")
        if not self.max_reply_mb > 0:
            raise ValueError("ReplConfig.max_reply_mb must be positive")

    @property
    def accepted_axioms(self) -> tuple[str, ...]:
        """The axiom allow-list in force (``allowed_axioms``, plus the native ones when allowed)."""
        return accepted_axioms(self.allowed_axioms, allow_native_decide=self.allow_native_decide)

    @property
    def process_spec(self) -> ProcessSpec:
        return ProcessSpec(self.command, Path(self.cwd), self.limits.memory_limit_mb, int(self.max_reply_mb * 1024 * 1024))
