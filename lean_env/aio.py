"""Asyncio helpers shared by backends and search."""

from __future__ import annotations

import asyncio
import sys
from typing import Awaitable, TypeVar

__all__ = ["within"]

_T = TypeVar("_T")


async def within(awaitable: Awaitable[_T], timeout: float) -> _T:
    """``awaitable`` with a deadline (raises ``TimeoutError``). Uses ``asyncio.timeout``
    where it exists, since ``wait_for`` before 3.12 can swallow a cancellation (Ctrl-C,
    shutdown) that arrives as the awaited operation completes, leaving a task that
    never stops."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    try:  # pragma: no cover - Python 3.10 only
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError as exc:  # pragma: no cover
        raise TimeoutError from exc
