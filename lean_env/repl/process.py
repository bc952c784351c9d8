"""One REPL subprocess: spawn, one request at a time with a deadline, kill.

I/O goes through asyncio subprocess pipes rather than a thread per worker: a deadline
is a timeout around a read, cancellation needs no thread hand-off, and hundreds of
concurrent steps cost coroutines, not threads. Each REPL runs in its own session
(process group), so a kill also reaches the real ``repl`` that ``lake env`` spawns;
``RLIMIT_AS`` caps every process of the group. An ``atexit`` hook kills whatever is
still alive when the interpreter exits without ``aclose``, and the watchdog
(``watchdog.py``) does the same when the driver is killed outright. A reply is bounded
in size: one over ``reply_limit_bytes`` kills the process (a crash, not a hang or an
exception out of ``request``).

``request_sealed`` is how a verdict is read: the reply is followed by a command whose
answer must name a fresh random nonce and must come next. Output that the checked proof
itself writes to stdout comes before the REPL's own reply, so a proof that prints a
forged reply shifts the stream by one and the nonce check fails; it cannot print the
nonce, which is drawn after its reply was read.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import json
import os
import resource
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

from lean_env.aio import within
from lean_env.repl import watchdog
from lean_env.repl.protocol import CommandRequest, CommandResponse, ProtocolError, Request, Response, decode_response, encode_request

__all__ = ["ProcessSpec", "ReplProcess", "WorkerFault", "WorkerTimeout", "WorkerDied", "OutOfStep"]

_STDERR_LINES = 20
_LIVE: set["ReplProcess"] = set()


class WorkerFault(Exception):
    """The REPL process can no longer serve requests (it has been killed)."""


class WorkerTimeout(WorkerFault):
    """A request ran past its deadline; the process group was killed."""


class WorkerDied(WorkerFault):
    """The process exited or wrote something that is not a REPL response (or one too large)."""


class OutOfStep(WorkerDied):
    """A reply was not the answer to its request (forged output or a desynchronised
    REPL); the process was killed."""


@dataclass(frozen=True)
class ProcessSpec:
    """How to launch a REPL: argv, working directory, address-space cap in MiB, and the
    largest reply accepted in bytes."""

    command: tuple[str, ...]
    cwd: Path
    memory_limit_mb: int | None = None
    reply_limit_bytes: int = 256 * 1024 * 1024


def _limit_memory(limit_mb: int) -> None:
    limit = limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class ReplProcess:
    """A running REPL; ``request`` sends one request and returns its typed response."""

    def __init__(self, proc: asyncio.subprocess.Process, reply_limit: int):
        self._proc = proc
        self._reply_limit = reply_limit
        self._reply_bytes = 0
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
            limit=spec.reply_limit_bytes,
        )
        watchdog.register(proc.pid)
        return cls(proc, spec.reply_limit_bytes)

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

    async def request_sealed(self, request: Request, timeout: float, *, sync_env: int, sync_timeout: float) -> Response:
        """``request`` whose reply is proven to be the REPL's answer to it: a ``#check`` of
        a fresh nonce is sent next (in ``sync_env``) and its error, naming the nonce, must be
        the very next reply. Raises ``OutOfStep`` (process killed) otherwise."""
        nonce = f"prover_sync_{secrets.token_hex(16)}"
        try:
            response = await self.request(request, timeout)
            sync = await self.request(CommandRequest(f"#check {nonce}", env=sync_env), sync_timeout)
        except ProtocolError:  # a JSON object of no REPL shape: the stream cannot be trusted either
            sync = None
        messages = sync.messages if isinstance(sync, CommandResponse) else ()
        if not (len(messages) == 1 and messages[0].is_error and nonce in messages[0].data and not sync.sorries):
            await self.kill()
            raise OutOfStep("a reply out of step with its request (the checked text printed a forged reply, or the REPL lost sync)")
        return response

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
        """The next response: pretty-printed JSON lines up to a blank line, at most
        ``reply_limit_bytes`` in all."""
        while True:
            try:
                line = await self._proc.stdout.readline()
            except ValueError:  # one line over the stream limit
                raise WorkerDied(f"a reply over the {self._reply_limit} byte limit") from None
            if not line:
                raise WorkerDied("end of output")
            if line.strip():
                if not self._lines and not line.lstrip().startswith(b"{"):
                    raise WorkerDied(f"non-JSON output {line[:200]!r}")
                self._reply_bytes += len(line)
                if self._reply_bytes > self._reply_limit:
                    raise WorkerDied(f"a reply over the {self._reply_limit} byte limit")
                self._lines.append(line)
                continue
            if not self._lines:
                continue
            text = b"".join(self._lines)
            self._lines.clear()
            self._reply_bytes = 0
            try:
                return json.loads(text)
            except ValueError:
                raise WorkerDied(f"malformed JSON output {text[:200]!r}") from None

    async def _drain_stderr(self) -> None:
        while True:
            try:
                line = await self._proc.stderr.readline()
            except ValueError:  # an overlong line was dropped from the buffer
                self._stderr.append("<stderr line over the size limit>")
                continue
            if not line:
                return
            self._stderr.append(line.decode("utf-8", "replace")[:2000].rstrip())

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
        watchdog.unregister(self._proc.pid)

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
