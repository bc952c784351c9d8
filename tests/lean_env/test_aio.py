"""The shared deadline helper never swallows a cancellation (``wait_for`` in 3.11 does)."""

from __future__ import annotations

import asyncio

import pytest

from lean_env.aio import within


def test_cancel_arriving_as_the_awaited_event_fires_is_not_swallowed():
    async def main():
        event = asyncio.Event()
        task = asyncio.create_task(within(event.wait(), 10.0))
        await asyncio.sleep(0)  # the task is now waiting on the event
        event.set()
        task.cancel()  # same tick: the wait completes and the cancel arrives together
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_deadline_raises_timeout_error():
    async def main():
        with pytest.raises(TimeoutError):
            await within(asyncio.sleep(1.0), 0.01)
        assert await within(asyncio.sleep(0, result=7), 1.0) == 7

    asyncio.run(main())
