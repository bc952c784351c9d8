"""LeanDojo backend: the ``Environment`` API over ``lean_dojo.Dojo`` for already traced repositories.

Each theorem gets one tactic-mode ``Dojo`` (one Lean process), opened by ``start`` and
kept until ``aclose``. Dojo calls block, so they run in worker threads; calls on one
Dojo are serialised because its process answers one request at a time. After a tactic
timeout or a crash the process can no longer be trusted (a late answer would be read as
the next one), so it is closed: later steps on that theorem's states report
``EnvCrash(state_lost=True)`` and ``start`` opens a fresh Dojo.

What LeanDojo can and cannot do here:

* A candidate goes to ``Dojo.run_tac`` as one tactic (``hygiene.single_tactic``):
  LeanDojo parses exactly one ``tactic`` (``Lean4Repl.lean``), like the REPL.
* ``verify`` opens a *command-mode* Dojo at the theorem's line and compiles statement,
  proof and ``#print axioms`` as one command, so Lean itself parses ``;``, ``<;>`` and
  indentation, the kernel checks the declaration, and the axioms are audited (tactic
  mode cannot report axioms: its proof check is ``hasSorry`` plus the kernel). LeanDojo
  prints messages as bare lines before its ``REPL>`` reply, so the verdict is followed by
  a ``#check`` of a fresh nonce whose error must be the next reply (as on the REPL);
  the one axioms report must be the only one.
* It cannot share work between theorems (one ``lake env lean`` process per Dojo) and
  its replies carry no request id; it also shares one terminal for stdout and stderr.
* A repository that is not traced yet is refused before any Dojo opens (tracing a
  Mathlib-sized repository takes hours and would otherwise start silently inside a
  search). ``limits.start_timeout_s`` bounds a Dojo's start (a cold ``import Mathlib``),
  ``limits.step_timeout_s`` one tactic and ``limits.verify_timeout_s`` one verify.

``lean_dojo`` is imported lazily (it reads its environment variables, checks ``git``
and creates its cache directory on import).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import math
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, ContextManager

from lean_env.axioms import DEFAULT_AXIOMS, accepted_axioms, axiom_problem, print_axioms_command, read_axiom_report
from lean_env.base import EnvironmentBase
from lean_env.errors import BackendUnavailable, StatementError
from lean_env.hygiene import check_tactic, single_tactic
from lean_env.limits import EnvLimits
from lean_env.source import SourceFile, declared_name
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

__all__ = ["LeanDojoConfig", "LeanDojoEnvironment", "DojoFactory", "TraceLookup", "split_pp_goals"]

DojoFactory = Callable[[Any, int], ContextManager[Any]]
"""Builds the Dojo context manager for an entry (a ``lean_dojo.Theorem`` for tactic mode,
``(repo, file_path, line)`` for command mode) and a timeout in seconds for its start."""

TraceLookup = Callable[[Any], "Path | None"]
"""Where the traced copy of a repository lives, or ``None`` when it was never traced."""

_INSTALL_HINT = "pip install 'lean-prover-agent[leandojo]'"
_CLOSED = "the LeanDojo process of this theorem was closed after a timeout or crash; start the theorem again"
# DojoInitError messages that mean "your theorem/statement is wrong", as opposed to "LeanDojo cannot run".
_USER_INIT_ERRORS = ("Failed to locate the theorem", "`where` keyword")


@dataclass(frozen=True)
class LeanDojoConfig:
    """Where the theorems live, how long work may take, and what a proof may rely on.

    ``repo`` (a ``lean_dojo.LeanGitRepo``) wins over ``repo_url``/``commit``, from which one
    is built on first use (that may contact GitHub). ``file_path`` is the ``.lean`` file
    inside the repository; when ``None`` it is taken from ``Theorem.source`` of the form
    ``owner/repo@commit:path/File.lean``. ``limits`` bounds a Dojo's start, a tactic and a
    verify. ``allow_native_decide`` relaxes the tactic rule and the axiom allow-list
    together, as on the REPL.
    """

    repo_url: str | None = None
    commit: str | None = None
    repo: Any = None
    file_path: str | None = None
    limits: EnvLimits = EnvLimits()
    allow_native_decide: bool = False
    allowed_axioms: tuple[str, ...] = DEFAULT_AXIOMS


@dataclass(frozen=True)
class _Handle:
    """Backend handle: which Dojo generation produced the ``lean_dojo.TacticState``."""

    theorem: str
    generation: int
    tactic_state: Any


@dataclass(frozen=True)
class _Outcome:
    """What a verify found: ``failure`` is ``""`` when the proof is accepted."""

    failure: str
    reason: str = ""
    messages: tuple[str, ...] = ()
    axioms: tuple[str, ...] | None = None


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


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def _set_timeout(dojo: Any, seconds: float) -> None:
    """Bound every later read of ``dojo`` by ``seconds`` (a Dojo keeps one pexpect timeout,
    set at construction; it is the start-up timeout until this is called)."""
    dojo.timeout = _seconds(seconds)
    proc = getattr(dojo, "proc", None)
    if proc is not None:
        proc.timeout = dojo.timeout


def local_trace(repo: Any, cache_dir: Path | None = None) -> Path | None:
    """The traced copy of ``repo`` in LeanDojo's local cache (``cache_dir``, default
    LeanDojo's own), ``None`` if there is none: never downloads, never traces."""
    if cache_dir is None:
        from lean_dojo.data_extraction.cache import cache

        cache_dir = cache.cache_dir
    path = Path(cache_dir) / repo.get_cache_dirname() / repo.name
    return path if path.is_dir() else None


class LeanDojoEnvironment(EnvironmentBase):
    """Environment backed by LeanDojo; ``verify`` replays the whole proof in a fresh Dojo."""

    name = "leandojo"

    def __init__(self, config: LeanDojoConfig, *, dojo_factory: DojoFactory | None = None, traced: TraceLookup | None = None) -> None:
        self._ld = _import_lean_dojo()
        self._config = config
        self._factory = dojo_factory or (lambda entry, timeout: self._ld.Dojo(entry, timeout=timeout))
        self._traced = traced or local_trace
        self._repo = config.repo
        self._sessions: dict[str, _Session] = {}
        self._generations = itertools.count(1)

    def _file_path(self, theorem: Theorem) -> str:
        file_path = self._config.file_path or (theorem.source or "").rpartition(":")[2]
        if not file_path.endswith(".lean"):
            raise StatementError(
                f"LeanDojo needs the .lean file of {theorem.name}: set LeanDojoConfig.file_path "
                "or Theorem.source to 'repo@commit:path/File.lean'"
            )
        return file_path

    def _traced_repo(self) -> tuple[Any, Path]:
        """The repository and its traced copy; refuses an untraced one before any Dojo starts."""
        if self._repo is None:
            if not (self._config.repo_url and self._config.commit):
                raise BackendUnavailable("LeanDojoConfig needs repo, or repo_url and commit")
            try:
                self._repo = self._ld.LeanGitRepo(self._config.repo_url, self._config.commit)
            except Exception as exc:  # network, git or GitHub API failures, all infrastructure
                raise BackendUnavailable(f"LeanDojo could not load {self._config.repo_url}: {exc}") from exc
        path = self._traced(self._repo)
        if path is None:
            url, commit = getattr(self._repo, "url", self._config.repo_url), getattr(self._repo, "commit", self._config.commit)
            raise BackendUnavailable(
                f"LeanDojo has no trace of {url}@{commit}; tracing a Mathlib-sized repository takes hours, so it is "
                "never started inside a search. Trace it once beforehand: python -c \"import lean_dojo; "
                f"lean_dojo.trace(lean_dojo.LeanGitRepo('{url}', '{commit}'))\""
            )
        return self._repo, path

    def _enter(self, entry: Any, name: str, timeout: float) -> tuple[ContextManager[Any], Any, Any]:
        """Enter a new Dojo for ``entry`` within ``limits.start_timeout_s``, then bound its
        later reads by ``timeout``: (context, dojo, initial state). Blocking."""
        context = self._factory(entry, _seconds(self._config.limits.start_timeout_s))
        try:
            dojo, initial = context.__enter__()
        except self._ld.DojoInitError as exc:
            error = StatementError if any(key in str(exc) for key in _USER_INIT_ERRORS) else BackendUnavailable
            raise error(f"LeanDojo could not start {name}: {exc}") from exc
        except Exception as exc:  # missing Lean4Repl.lean, no lake: infrastructure
            raise BackendUnavailable(f"LeanDojo could not start {name}: {exc!r}") from exc
        _set_timeout(dojo, timeout)
        return context, dojo, initial

    def _open(self, theorem: Theorem) -> tuple[ContextManager[Any], Any, Any]:
        """A tactic-mode Dojo on ``theorem``: (context, dojo, initial TacticState). Blocking."""
        file_path = self._file_path(theorem)
        repo, _ = self._traced_repo()
        entry = self._ld.Theorem(repo, Path(file_path), theorem.name)
        return self._enter(entry, theorem.name, self._config.limits.step_timeout_s)

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
        hygiene = check_tactic(tactic, allow_native_decide=self._config.allow_native_decide)
        if not hygiene.ok:
            return TacticRejected(reason=hygiene.reason, message=hygiene.detail)
        session = self._sessions.get(handle.theorem)
        if session is None or session.generation != handle.generation:
            return EnvCrash(reason=_CLOSED, state_lost=True)
        async with session.lock:
            if self._sessions.get(handle.theorem) is not session:  # closed while this step waited
                return EnvCrash(reason=_CLOSED, state_lost=True)
            try:
                result = await asyncio.to_thread(session.dojo.run_tac, handle.tactic_state, single_tactic(hygiene.text))
            except self._ld.DojoTacticTimeoutError:
                await self._drop(session)
                return StepTimeout(seconds=float(_seconds(self._config.limits.step_timeout_s)))
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
        """Hygiene-check ``proof``, then compile statement, proof and ``#print axioms`` in a
        fresh command-mode Dojo at the theorem's place in its file; accept only no error,
        no sorry and allowed axioms, read in step with a nonce check."""
        started = time.monotonic()
        hygiene = check_tactic(proof, allow_native_decide=self._config.allow_native_decide)
        name = declared_name(theorem.statement)
        if not hygiene.ok:
            outcome = _Outcome("rejected", f"{hygiene.reason}: {hygiene.detail}")
        elif name is None:
            outcome = _Outcome("statement", "no theorem name to audit axioms of")
        else:
            try:
                outcome = await asyncio.to_thread(self._compile, theorem, name, hygiene.text)
            except StatementError as exc:
                outcome = _Outcome("statement", str(exc))
        return Verdict(
            theorem=theorem.name,
            proof=proof,
            ok=not outcome.failure,
            checker=self.name,
            reason=outcome.reason,
            messages=outcome.messages,
            axioms=outcome.axioms,
            seconds=time.monotonic() - started,
            failure=outcome.failure,
        )

    def _command_entry(self, theorem: Theorem) -> tuple[Any, Path, int]:
        """``(repo, file, line)`` of ``theorem``'s declaration in the traced repository."""
        file_path = self._file_path(theorem)
        repo, root = self._traced_repo()
        try:
            source = SourceFile((root / file_path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise StatementError(f"LeanDojo: cannot read {file_path} in the traced repository: {exc.strerror}") from None
        short = theorem.name.rpartition(".")[2]
        decl = source.find(theorem.name) or source.find(short)
        if decl is None:
            raise StatementError(f"LeanDojo: no theorem {theorem.name} in {file_path}")
        return repo, Path(file_path), decl.line

    def _compile(self, theorem: Theorem, name: str, proof: str) -> "_Outcome":
        body = dataclasses.replace(theorem, header="").with_proof(proof)
        context, dojo, state = self._enter(self._command_entry(theorem), theorem.name, self._config.limits.verify_timeout_s)
        try:
            try:
                result = dojo.run_cmd(state, f"{body}\n{print_axioms_command(name)}")
                _set_timeout(dojo, self._config.limits.step_timeout_s)
                nonce = f"prover_sync_{secrets.token_hex(16)}"
                sync = dojo.run_cmd(state, f"#check {nonce}")
            except self._ld.DojoTacticTimeoutError:
                return _Outcome("timeout", f"timeout: no answer within {_seconds(self._config.limits.verify_timeout_s)}s")
            except self._ld.DojoCrashError as exc:
                return _Outcome("crash", f"LeanDojo crashed: {exc or 'unknown'}")
            if not (isinstance(sync, self._ld.LeanError) and nonce in sync.error):
                return _Outcome("crash", "a reply out of step with its request (the proof printed a forged reply); refused")
            if isinstance(result, self._ld.LeanError):
                return _Outcome("error", f"error: {result.error}", (result.error,))
            text = result.message or ""
            messages = tuple(line for line in text.split("\n") if line.strip())
            if "declaration uses" in text and "sorry" in text:
                return _Outcome("sorry", "the proof uses sorry", messages)
            axioms, problem = read_axiom_report([text])
            problem = problem or axiom_problem(axioms, accepted_axioms(self._config.allowed_axioms, allow_native_decide=self._config.allow_native_decide))
            return _Outcome("axioms" if problem else "", problem, messages, axioms)
        finally:
            self._exit(context)

    async def aclose(self) -> None:
        """Close every open Dojo."""
        for session in list(self._sessions.values()):
            await self._drop(session)
