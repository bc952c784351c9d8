"""A watchdog process that kills every REPL process group when the driver dies, however it dies.

Cleanup inside the driver (``aclose``, the ``atexit`` hook, signal handlers) cannot run
after a SIGKILL or an out-of-memory kill, and a REPL busy in a long tactic would then
run on, adopted by init. Two mechanisms were weighed:

* ``PR_SET_PDEATHSIG`` set in a pre-exec hook kills the direct child when its parent
  *thread* exits. But the signal is cleared in the child's own children, so the real
  ``repl`` that ``lake env`` spawns would survive its parent, and an event loop run in a
  worker thread would kill its REPLs when that thread ends.
* A watchdog process holding the read end of a pipe whose only write end is in the
  driver. The kernel closes that end when the driver dies for any reason; the
  watchdog reads end-of-file and SIGKILLs every process group it was told about, which
  includes ``lake env``'s children (each REPL runs in its own session).

The second is used. The watchdog is a tiny ``python -I -S`` process started with the
first REPL and stopped with the last one, so no process outlives a driver that uses
none. The window it cannot cover is the few milliseconds between a REPL's spawn and
the line that registers it.
"""

from __future__ import annotations

import subprocess
import sys
import threading

__all__ = ["register", "unregister", "watchdog_pid"]

_SCRIPT = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    sign, pgid = line[0], int(line[1:])
    (groups.add if sign == "+" else groups.discard)(pgid)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""

_lock = threading.Lock()
_process: subprocess.Popen | None = None
_groups: set[int] = set()


def _send(line: str) -> bool:
    assert _process is not None and _process.stdin is not None
    try:
        _process.stdin.write(line + "\n")
        _process.stdin.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


def _start() -> None:
    global _process
    _process = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the terminal's process group: Ctrl-C must not reach it first
        text=True,
    )


def _stop() -> None:
    global _process
    if _process is None:
        return
    try:
        _process.stdin.close()  # end of file: nothing registered, so it kills nothing and exits
        _process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        _process.kill()
        _process.wait()
    _process = None


def register(pgid: int) -> None:
    """Have ``pgid`` killed if this process dies before ``unregister``."""
    with _lock:
        _groups.add(pgid)
        if _process is None or _process.poll() is not None or not _send(f"+{pgid}"):
            _start()  # the first REPL, or the watchdog was killed: (re)start it with every group
            for group in _groups:
                _send(f"+{group}")


def unregister(pgid: int) -> None:
    """Forget ``pgid`` (its processes were killed and reaped); stop the watchdog with the last one."""
    with _lock:
        if pgid not in _groups:
            return
        _groups.discard(pgid)
        if _process is not None:
            _send(f"-{pgid}")
        if not _groups:
            _stop()


def watchdog_pid() -> int | None:
    """The watchdog's process id while one runs (for tests)."""
    return _process.pid if _process is not None and _process.poll() is None else None
