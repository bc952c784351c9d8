"""LeanDojo backend: the ``Environment`` API over ``lean_dojo.Dojo`` for already traced repositories.

Each theorem gets one ``Dojo`` (one Lean process), opened by ``start`` and kept until
``aclose``. Dojo calls block, so they run in worker threads; calls on one Dojo are
serialised because its process answers one request at a time. After a tactic timeout
or a crash the process can no longer be trusted (a late answer would be read as the
next one), so it is closed: later steps on that theorem's states report
``EnvCrash(state_lost=True)`` and ``start`` opens a fresh Dojo.

``lean_dojo`` is imported lazily (it reads its environment variables, checks ``git``
and creates its cache directory on import).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, ContextManager, Sequence

from lean_env.base import EnvironmentBase
from lean_env.errors import BackendUnavailable, StatementError
from lean_env.hygiene import check_tactic
from lean_env.limits import EnvLimits
from lean_env.types import (
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepResult,
    StepTimeout,
    TacticError,
    TacticRejected,
    Theorem,
    Verdict,
)

__all__ = ["LeanDojoConfig", "LeanDojoEnvironment", "DojoFactory", "split_pp_goals", "split_tactic_blocks"]

DojoFactory = Callable[[Any, int], ContextManager[Any]]
"""Builds the Dojo context manager for a ``lean_dojo.Theorem`` and a per-tactic timeout in seconds."""

_INSTALL_HINT = "pip install 'lean-prover-agent[leandojo]'"
_CLOSED = "the LeanDojo process of this theorem was closed after a timeout or crash; start the theorem again"
# DojoInitError messages that mean "your theorem/statement is wrong", as opposed to "LeanDojo cannot run".
_USER_INIT_ERRORS = ("Failed to locate the theorem", "`where` keyword")


@dataclass(frozen=True)
class LeanDojoConfig:
    """Where the theorems live and how long a tactic may run.

    ``repo`` (a ``lean_dojo.LeanGitRepo``) wins over ``repo_url``/``commit``, from which one
    is built on first use (that may contact GitHub). ``file_path`` is the ``.lean`` file
    inside the repository; when ``None`` it is taken from ``Theorem.source`` of the form
    ``owner/repo@commit:path/File.lean``. ``limits.step_timeout_s`` bounds one tactic.
    """

    repo_url: str | None = None
    commit: str | None = None
    repo: Any = None
    file_path: str | None = None
    limits: EnvLimits = EnvLimits()


@dataclass(frozen=True)
class _Handle:
    """Backend handle: which Dojo generation produced the ``lean_dojo.TacticState``."""

    theorem: str
    generation: int
    tactic_state: Any


@dataclass
class _Session:
    """One open Dojo for one theorem."""

    context: ContextManager[Any]
    dojo: Any
    root: ProofState
    generation: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _import_lean_dojo() -> ModuleType:
    try:
        import lean_dojo
    except ImportError as exc:
        raise BackendUnavailable(_INSTALL_HINT) from exc
    except (AssertionError, OSError, subprocess.CalledProcessError) as exc:  # its import-time git check
        raise BackendUnavailable(f"lean_dojo failed to import: {exc}") from exc
    return lean_dojo


def split_pp_goals(pp: str) -> tuple[str, ...]:
    """Goals of a LeanDojo ``TacticState.pp``: Lean separates goals by one blank line.

    Every non-blank part is kept, so a state can never look solved by accident.
    """
    return tuple(part.strip("\n") for part in pp.split("\n\n") if part.strip())


def split_tactic_blocks(proof: str) -> list[str]:
    """Split a tactic proof into the top-level tactics LeanDojo runs one request at a time.

    A block is a line at the proof's base indentation plus the more indented lines under it.
    """
    lines = [line for line in proof.splitlines() if line.strip()]
    if not lines:
        return []
    base = min(len(line) - len(line.lstrip()) for line in lines)
    blocks: list[list[str]] = []
    for line in lines:
        if len(line) - len(line.lstrip()) == base:
            blocks.append([])
        blocks[-1].append(line[base:])
    return ["\n".join(block) for block in blocks]


class LeanDojoEnvironment(EnvironmentBase):
    """Environment backed by LeanDojo; ``verify`` replays the whole proof in a fresh Dojo."""

    name = "leandojo"

    def __init__(self, config: LeanDojoConfig, *, dojo_factory: DojoFactory | None = None) -> None:
        self._ld = _import_lean_dojo()
        self._config = config
        self._factory = dojo_factory or (lambda theorem, timeout: self._ld.Dojo(theorem, timeout=timeout))
        self._repo = config.repo
        self._sessions: dict[str, _Session] = {}
        self._generations = itertools.count(1)

    def _dojo_theorem(self, theorem: Theorem) -> Any:
        """The ``lean_dojo.Theorem`` for ``theorem`` (blocking: building the repo may use git/GitHub)."""
        file_path = self._config.file_path or (theorem.source or "").rpartition(":")[2]
        if not file_path.endswith(".lean"):
            raise StatementError(
                f"LeanDojo needs the .lean file of {theorem.name}: set LeanDojoConfig.file_path "
                "or Theorem.source to 'repo@commit:path/File.lean'"
            )
        if self._repo is None:
            if not (self._config.repo_url and self._config.commit):
                raise BackendUnavailable("LeanDojoConfig needs repo, or repo_url and commit")
            try:
                self._repo = self._ld.LeanGitRepo(self._config.repo_url, self._config.commit)
            except Exception as exc:  # network, git or GitHub API failures, all infrastructure
                raise BackendUnavailable(f"LeanDojo could not load {self._config.repo_url}: {exc}") from exc
        return self._ld.Theorem(self._repo, Path(file_path), theorem.name)

    def _open(self, theorem: Theorem) -> tuple[ContextManager[Any], Any, Any]:
        """Enter a new Dojo for ``theorem``: (context, dojo, initial TacticState). Blocking."""
        context = self._factory(self._dojo_theorem(theorem), max(1, math.ceil(self._config.limits.step_timeout_s)))
        try:
            dojo, initial = context.__enter__()
        except self._ld.DojoInitError as exc:
            error = StatementError if any(key in str(exc) for key in _USER_INIT_ERRORS) else BackendUnavailable
            raise error(f"LeanDojo could not start {theorem.name}: {exc}") from exc
        except Exception as exc:  # untraced repo, missing Lean4Repl.lean, no lake: infrastructure
            raise BackendUnavailable(f"LeanDojo could not start {theorem.name}: {exc!r}") from exc
        return context, dojo, initial

    async def start(self, theorem: Theorem) -> ProofState:
        """Root state of ``theorem``, opening its Dojo unless one is already open."""
        session = self._sessions.get(theorem.name)
        if session is not None:
            return session.root
        context, dojo, initial = await asyncio.to_thread(self._open, theorem)
        if theorem.name in self._sessions:  # a concurrent start won the race; keep one Dojo per theorem
            await asyncio.to_thread(self._exit, context)
            return self._sessions[theorem.name].root
        generation = next(self._generations)
        root = self._state(_Handle(theorem.name, generation, initial))
        self._sessions[theorem.name] = _Session(context=context, dojo=dojo, root=root, generation=generation)
        return root

    @staticmethod
    def _state(handle: _Handle) -> ProofState:
        return ProofState(goals=split_pp_goals(handle.tactic_state.pp), handle=handle)

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        """Run ``tactic`` on ``state``; every outcome is a ``StepResult``."""
        handle = state.handle
        if not isinstance(handle, _Handle):
            raise ValueError("state was not produced by a LeanDojoEnvironment")
        hygiene = check_tactic(tactic)
        if not hygiene.ok:
            return TacticRejected(reason=hygiene.reason, message=hygiene.detail)
        session = self._sessions.get(handle.theorem)
        if session is None or session.generation != handle.generation:
            return EnvCrash(reason=_CLOSED, state_lost=True)
        async with session.lock:
            if self._sessions.get(handle.theorem) is not session:  # closed while this step waited
                return EnvCrash(reason=_CLOSED, state_lost=True)
            try:
                result = await asyncio.to_thread(session.dojo.run_tac, handle.tactic_state, hygiene.text)
            except self._ld.DojoTacticTimeoutError:
                await self._drop(session)
                return StepTimeout(seconds=float(max(1, math.ceil(self._config.limits.step_timeout_s))))
            except self._ld.DojoCrashError as exc:
                await self._drop(session)
                return EnvCrash(reason=f"LeanDojo crashed: {exc or 'unknown'}", state_lost=True)
        return self._map_result(result, handle)

    def _map_result(self, result: Any, handle: _Handle) -> StepResult:
        messages = (result.message,) if getattr(result, "message", None) else ()
        if isinstance(result, self._ld.TacticState):
            return NewState(self._state(_Handle(handle.theorem, handle.generation, result)), messages)
        if isinstance(result, self._ld.ProofFinished):
            return ProofComplete(messages)
        if isinstance(result, self._ld.LeanError):
            return TacticError(result.error)
        if isinstance(result, self._ld.ProofGivenUp):
            return TacticRejected(reason="sorry", message="the proof term contains `sorry`")
        raise TypeError(f"unexpected LeanDojo result {result!r}")

    async def _drop(self, session: _Session) -> None:
        """Forget ``session`` and close its Dojo."""
        name = session.root.handle.theorem
        if self._sessions.get(name) is session:
            del self._sessions[name]
        await asyncio.to_thread(self._exit, session.context)

    @staticmethod
    def _exit(context: ContextManager[Any]) -> None:
        with contextlib.suppress(Exception):  # the process may already be gone; cleanup must not mask results
            context.__exit__(None, None, None)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Hygiene-check ``proof``, replay it block by block in a fresh Dojo, accept only a final ``ProofFinished``.

        LeanDojo checks the finished proof term for ``sorry`` and with the kernel before reporting it.
        """
        started = time.monotonic()
        hygiene = check_tactic(proof)
        if not hygiene.ok:
            ok, reason, messages = False, f"{hygiene.reason}: {hygiene.detail}", ()
        else:
            ok, reason, messages = await asyncio.to_thread(self._replay, theorem, split_tactic_blocks(hygiene.text))
        return Verdict(
            theorem=theorem.name,
            proof=proof,
            ok=ok,
            checker=self.name,
            reason=reason,
            messages=messages,
            seconds=time.monotonic() - started,
        )

    def _replay(self, theorem: Theorem, tactics: Sequence[str]) -> tuple[bool, str, tuple[str, ...]]:
        context, dojo, state = self._open(theorem)
        messages: list[str] = []
        try:
            for index, tactic in enumerate(tactics, 1):
                if isinstance(state, self._ld.ProofFinished):
                    return False, f"tactic {index} runs after the proof is finished", tuple(messages)
                try:
                    state = dojo.run_tac(state, tactic)
                except (self._ld.DojoTacticTimeoutError, self._ld.DojoCrashError) as exc:
                    return False, f"tactic {index}: {type(exc).__name__} {exc}".rstrip(), tuple(messages)
                if getattr(state, "message", None):
                    messages.append(state.message)
                if isinstance(state, self._ld.LeanError):
                    return False, f"tactic {index}: {state.error}", tuple(messages)
                if isinstance(state, self._ld.ProofGivenUp):
                    return False, f"tactic {index}: the proof term contains `sorry`", tuple(messages)
            if not isinstance(state, self._ld.ProofFinished):
                return False, "goals remain after the last tactic", tuple(messages)
            return True, "", tuple(messages)
        finally:
            self._exit(context)

    async def aclose(self) -> None:
        """Close every open Dojo."""
        for session in list(self._sessions.values()):
            await self._drop(session)
