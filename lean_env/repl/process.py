"""One REPL subprocess: spawn, one request at a time with a deadline, kill.

I/O goes through asyncio subprocess pipes rather than a thread per worker: a deadline
is a timeout around a read, cancellation needs no thread hand-off, and hundreds of
concurrent steps cost coroutines, not threads. Each REPL runs in its own session
(process group), so a kill also reaches the real ``repl`` that ``lake env`` spawns;
``RLIMIT_AS`` caps every process of the group. An ``atexit`` hook kills whatever is
still alive when the interpreter exits without ``aclose``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import json
import os
import resource
import signal
from dataclasses import dataclass
from pathlib import Path

from lean_env.aio import within
from lean_env.repl.protocol import Request, Response, decode_response, encode_request

__all__ = ["ProcessSpec", "ReplProcess", "WorkerFault", "WorkerTimeout", "WorkerDied"]

_STREAM_LIMIT = 256 * 1024 * 1024  # one JSON line can hold a large goal or infotree
_STDERR_LINES = 20
_LIVE: set["ReplProcess"] = set()


class WorkerFault(Exception):
    """The REPL process can no longer serve requests (it has been killed)."""


class WorkerTimeout(WorkerFault):
    """A request ran past its deadline; the process group was killed."""


class WorkerDied(WorkerFault):
    """The process exited or wrote something that is not a REPL response."""


@dataclass(frozen=True)
class ProcessSpec:
    """How to launch a REPL: argv, working directory, address-space cap in MiB."""

    command: tuple[str, ...]
    cwd: Path
    memory_limit_mb: int | None = None


def _limit_memory(limit_mb: int) -> None:
    limit = limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class ReplProcess:
    """A running REPL; ``request`` sends one request and returns its typed response."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self._proc = proc
        self._lines: list[bytes] = []  # partial response kept across a cancelled read
        self._owed = 0  # responses written for but not read (a caller was cancelled)
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr())
        _LIVE.add(self)

    @classmethod
    async def spawn(cls, spec: ProcessSpec) -> "ReplProcess":
        """Start the REPL in a new process group (raises ``OSError`` if it cannot run)."""
        limit = spec.memory_limit_mb
        proc = await asyncio.create_subprocess_exec(
            *spec.command,
            cwd=str(spec.cwd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=None if limit is None else (lambda: _limit_memory(limit)),
            limit=_STREAM_LIMIT,
        )
        return cls(proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.returncode is None and self in _LIVE

    @property
    def owes_responses(self) -> bool:
        """A cancelled caller left a response unread; ``settle`` must run first."""
        return self._owed > 0

    async def request(self, request: Request, timeout: float) -> Response:
        """Send ``request`` and wait at most ``timeout`` seconds for its response.

        Raises ``WorkerTimeout`` or ``WorkerDied`` after killing the process group.
        If the caller is cancelled the response stays owed: ``settle`` first.
        """
        if not self.alive:
            raise WorkerDied(self._death_reason("not running"))
        if self._owed:
            raise RuntimeError("a cancelled request's response is unread; call settle() first")
        self._proc.stdin.write(encode_request(request))
        self._owed += 1
        return decode_response(await self._receive(timeout, drain=True))

    async def settle(self, timeout: float) -> bool:
        """Read and drop responses owed to cancelled callers; False if the process had
        to be killed because one did not arrive in time or was garbage."""
        try:
            while self._owed:
                await self._receive(timeout)
        except WorkerFault:
            return False
        return True

    async def _receive(self, timeout: float, *, drain: bool = False) -> object:
        """The next response within ``timeout``; any failure kills the process group."""
        try:
            raw = await within(self._exchange(drain), timeout)
        except TimeoutError:
            await self.kill()
            raise WorkerTimeout(f"no response within {timeout:g}s") from None
        except (BrokenPipeError, ConnectionResetError, WorkerDied) as exc:
            await self.kill()
            raise WorkerDied(self._death_reason(str(exc) or type(exc).__name__)) from None
        self._owed -= 1
        return raw

    async def _exchange(self, drain: bool) -> object:
        if drain:
            await self._proc.stdin.drain()
        return await self._read_json()

    async def _read_json(self) -> object:
        """The next response: pretty-printed JSON lines up to a blank line."""
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                raise WorkerDied("end of output")
            if line.strip():
                if not self._lines and not line.lstrip().startswith(b"{"):
                    raise WorkerDied(f"non-JSON output {line[:200]!r}")
                self._lines.append(line)
                continue
            if not self._lines:
                continue
            text = b"".join(self._lines)
            self._lines.clear()
            try:
                return json.loads(text)
            except ValueError:
                raise WorkerDied(f"malformed JSON output {text[:200]!r}") from None

    async def _drain_stderr(self) -> None:
        async for line in self._proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def _death_reason(self, what: str) -> str:
        code = self._proc.returncode
        parts = [what]
        if code is not None:
            parts.append(f"exit code {code}")
        if self._stderr:
            parts.append("stderr: " + " | ".join(self._stderr))
        return "; ".join(parts)

    def kill_now(self) -> None:
        """SIGKILL the whole process group without waiting (safe from ``atexit``)."""
        _LIVE.discard(self)
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    async def kill(self) -> None:
        """Kill the process group and reap the process."""
        self.kill_now()
        await self._proc.wait()
        try:
            await within(self._stderr_task, 1.0)
        except TimeoutError:
            pass  # a process outside the group still holds stderr; the reader was cancelled
        self._proc.stdin.close()


@atexit.register
def _kill_all() -> None:
    for process in list(_LIVE):
        process.kill_now()
