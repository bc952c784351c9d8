"""Helpers for the REPL tests: the recorded transcripts and configs that run the
stand-in REPL (``fake_repl.py``) as a real subprocess."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil
import pytest

from lean_env import EnvLimits
from lean_env.repl import ReplConfig

HERE = Path(__file__).resolve().parent
FAKE_REPL = HERE / "fake_repl.py"
TRANSCRIPTS = HERE.parents[1].parent / "shared" / "datasets" / "lean_repl_transcripts" / "request_response_pairs.jsonl"
TACTIC_DATA = TRANSCRIPTS.parents[1] / "tactic_data"


def load_pairs() -> list[dict]:
    """Every recorded request/response pair (577 of them)."""
    with TRANSCRIPTS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def fake_config(*flags: str, version: str = "v4.24.0", **overrides: object) -> ReplConfig:
    """A ReplConfig running the stand-in REPL with ``flags``; short timeouts, no backoff."""
    command = (sys.executable, str(FAKE_REPL), "--transcripts", str(TRANSCRIPTS), "--version", version, *flags)
    limits = dict(workers=1, step_timeout_s=5.0, start_timeout_s=10.0, verify_timeout_s=5.0, memory_limit_mb=None)
    limits.update({k: overrides.pop(k) for k in list(overrides) if k in limits or k == "recycle_after_steps"})
    settings: dict = dict(command=command, cwd=HERE, restart_backoff_s=0.0, limits=EnvLimits(**limits))
    settings.update(overrides)
    return ReplConfig(**settings)


def running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie awaiting its reaper is not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def still_running(pids: list[int], grace_s: float = 3.0) -> list[int]:
    """The ``pids`` still running after ``grace_s``: SIGKILL is delivered asynchronously."""
    deadline = time.monotonic() + grace_s
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p for p in pids if running(p)]


@pytest.fixture(autouse=True)
def no_orphans():
    """Every REPL test must leave no process of its own behind."""
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    yield
    new = [c.pid for c in psutil.Process().children(recursive=True) if c.pid not in before]
    assert not still_running(new), "processes left behind"
