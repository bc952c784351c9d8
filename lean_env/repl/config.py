"""Configuration of the Lean REPL backend, in one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lean_env.limits import EnvLimits
from lean_env.repl.process import ProcessSpec

__all__ = ["ReplConfig", "DEFAULT_AXIOMS"]

DEFAULT_AXIOMS = ("propext", "Classical.choice", "Quot.sound")


@dataclass(frozen=True)
class ReplConfig:
    """How to run REPL workers and what to accept from them.

    ``command`` runs the REPL inside ``cwd`` (a Lean project with Mathlib), e.g.
    ``("lake", "env", "/path/repl/.lake/build/bin/repl")``. ``limits`` bounds the pool's
    processes, time and memory; after ``max_restarts`` consecutive failed starts the pool
    gives up.
    """

    command: tuple[str, ...]
    cwd: Path
    limits: EnvLimits = EnvLimits()
    max_restarts: int = 3
    restart_backoff_s: float = 0.5
    allow_native_decide: bool = False
    allowed_axioms: tuple[str, ...] = DEFAULT_AXIOMS

    def __post_init__(self) -> None:
        if not self.command:
            raise ValueError("ReplConfig.command is empty")
        if self.max_restarts < 1:
            raise ValueError("ReplConfig.max_restarts must be at least 1")

    @property
    def process_spec(self) -> ProcessSpec:
        return ProcessSpec(self.command, Path(self.cwd), self.limits.memory_limit_mb)
