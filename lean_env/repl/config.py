"""Configuration of the Lean REPL backend, in one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lean_env.repl.process import ProcessSpec

__all__ = ["ReplConfig", "DEFAULT_AXIOMS"]

DEFAULT_AXIOMS = ("propext", "Classical.choice", "Quot.sound")


@dataclass(frozen=True)
class ReplConfig:
    """How to run REPL workers and what to accept from them.

    ``command`` runs the REPL inside ``cwd`` (a Lean project with Mathlib), e.g.
    ``("lake", "env", "/path/repl/.lake/build/bin/repl")``. ``start_timeout_s`` bounds
    a worker's start including the header import (``import Mathlib`` takes a while);
    ``step_timeout_s`` bounds one tactic or statement, ``verify_timeout_s`` one whole
    proof. ``memory_limit_mb`` is ``RLIMIT_AS`` per process (``None``: no cap). A worker
    is restarted after ``recycle_after_steps`` requests, since a REPL never frees old
    states; after ``max_restarts`` consecutive failed starts the pool gives up.
    """

    command: tuple[str, ...]
    cwd: Path
    max_workers: int = 1
    step_timeout_s: float = 30.0
    start_timeout_s: float = 300.0
    verify_timeout_s: float = 120.0
    memory_limit_mb: int | None = None
    recycle_after_steps: int = 2000
    max_restarts: int = 3
    restart_backoff_s: float = 0.5
    allow_native_decide: bool = False
    allowed_axioms: tuple[str, ...] = DEFAULT_AXIOMS

    def __post_init__(self) -> None:
        if not self.command:
            raise ValueError("ReplConfig.command is empty")
        for name in ("max_workers", "recycle_after_steps", "max_restarts"):
            if getattr(self, name) < 1:
                raise ValueError(f"ReplConfig.{name} must be at least 1")
        for name in ("step_timeout_s", "start_timeout_s", "verify_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ReplConfig.{name} must be positive")

    @property
    def process_spec(self) -> ProcessSpec:
        return ProcessSpec(self.command, Path(self.cwd), self.memory_limit_mb)
