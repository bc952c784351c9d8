"""The one event loop all of the agent's asynchronous work runs on.

Environments hold processes and pipes bound to the loop that started them, and a
notebook (or any caller already inside asyncio) cannot block its own running loop. So
the library keeps one loop of its own in a daemon thread: synchronous calls submit to it
and wait, asynchronous calls submit to it and await. Every environment therefore lives
on the same loop whichever style and whichever agent uses it. Ctrl-C while waiting
cancels the submitted work and waits for it to unwind (processes killed, records
flushed) before ``KeyboardInterrupt`` reaches the caller.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Coroutine, TypeVar

__all__ = ["run", "arun", "aclose_resources"]

_T = TypeVar("_T")
_UNWIND_S = 60.0
"""How long an interrupted call waits for its work to unwind."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _runtime_loop() -> asyncio.AbstractEventLoop:
    """The library's loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="prover-runtime", daemon=True)
            _thread.start()
        return _loop


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` on the library's loop and wait for its result, from any thread,
    including one whose own event loop is running (a notebook cell)."""
    loop = _runtime_loop()
    if threading.current_thread() is _thread:
        coroutine.close()
        raise RuntimeError("a synchronous prover call was made from the prover's own loop; await the async variant")
    unwound = threading.Event()

    async def tracked() -> _T:
        try:
            return await coroutine
        finally:
            unwound.set()

    future = asyncio.run_coroutine_threadsafe(tracked(), loop)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        unwound.wait(_UNWIND_S)
        raise


async def arun(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Await ``coroutine`` run on the library's loop (from any other event loop)."""
    loop = _runtime_loop()
    if asyncio.get_running_loop() is loop:
        return await coroutine
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))


async def aclose_resources(*resources: object) -> None:
    """Close each resource: ``await aclose()`` when it has one, else ``close()`` if any."""
    for resource in resources:
        closer = getattr(resource, "aclose", None)
        if closer is not None:
            result = closer()
            if isinstance(result, Awaitable):
                await result
            continue
        closer = getattr(resource, "close", None)
        if closer is not None:
            closer()
