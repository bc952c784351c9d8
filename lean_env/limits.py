"""Bounds on environment work, one set shared by every backend and by the configuration."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["EnvLimits"]


@dataclass(frozen=True)
class EnvLimits:
    """How much work a backend may do and hold.

    ``workers``: checker processes at most (REPL workers; LeanDojo opens one Dojo per
    theorem). ``start_timeout_s`` bounds a worker's start including the header import
    (``import Mathlib`` takes a while); ``step_timeout_s`` one tactic or statement;
    ``verify_timeout_s`` one whole-proof check. ``memory_limit_mb`` is ``RLIMIT_AS`` per
    process (``None``: no cap). A worker is restarted after ``recycle_after_steps``
    requests, since a REPL never frees old states.
    """

    workers: int = 4
    step_timeout_s: float = 60.0
    start_timeout_s: float = 300.0
    verify_timeout_s: float = 120.0
    memory_limit_mb: int | None = 16384
    recycle_after_steps: int = 2000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "memory_limit_mb":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
                raise ValueError(f"EnvLimits.{f.name} must be a positive number, got {value!r}")
            if f.type in ("int", "int | None") and not isinstance(value, int):
                raise ValueError(f"EnvLimits.{f.name} must be an integer, got {value!r}")
