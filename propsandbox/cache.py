"""A memo bounded by the bytes its entries hold, not by their count.

A count-bounded cache of tactic parses can hold 65,536 scripts of 100,000 characters each
(gigabytes); this one evicts the oldest entries once the estimated size of what it holds
passes ``max_bytes``, and never keeps an entry larger than a quarter of that. Eviction is
oldest-first rather than least-recently-used: a lookup then hashes its key once, which
matters for keys whose hash is not cached (frozen dataclasses of goals).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

__all__ = ["ByteBoundedCache", "byte_bounded_cache", "cache_sizes", "clear_caches"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_CACHES: dict[str, "ByteBoundedCache"] = {}


class ByteBoundedCache(Generic[_K, _V]):
    """Memo whose entries' estimated sizes (``cost(key, value)``, in bytes) sum to at most
    ``max_bytes``, the oldest evicted first. Lookups take no lock; insertions do, so
    threads may share it."""

    def __init__(self, max_bytes: int, cost: Callable[[_K, _V], int]):
        self.max_bytes = max_bytes
        self._cost = cost
        self._entries: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0

    def get(self, key: _K, default: object = None) -> object:
        """The value cached for ``key``, else ``default``."""
        entry = self._entries.get(key)
        return default if entry is None else entry[0]

    def put(self, key: _K, value: _V) -> None:
        """Cache ``value`` for ``key`` (kept as it is when already cached), evicting the
        oldest entries to stay within bounds."""
        cost = self._cost(key, value)
        if cost > self.max_bytes // 4:
            return
        entry = (value, cost)
        with self._lock:
            if self._entries.setdefault(key, entry) is not entry:  # another thread put it first
                return
            self.nbytes += cost
            while self.nbytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.nbytes -= evicted

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def byte_bounded_cache(max_bytes: int, cost: Callable[[_K, _V], int]) -> Callable[[Callable[[_K], _V]], Callable[[_K], _V]]:
    """Memoise a one-argument function in a ``ByteBoundedCache`` (exceptions are not cached);
    the wrapper exposes ``cache`` and ``cache_clear()``."""

    def decorate(function: Callable[[_K], _V]) -> Callable[[_K], _V]:
        cache: ByteBoundedCache[_K, _V] = ByteBoundedCache(max_bytes, cost)
        lookup = cache._entries.get  # the hit path is one dict lookup: no further call

        @functools.wraps(function)
        def wrapper(key: _K) -> _V:
            entry = lookup(key)
            if entry is not None:
                return entry[0]
            value = function(key)
            cache.put(key, value)
            return value

        wrapper.cache = cache  # type: ignore[attr-defined]
        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        _CACHES[f"{function.__module__}.{function.__qualname__}"] = cache
        return wrapper

    return decorate


def cache_sizes() -> dict[str, tuple[int, int]]:
    """Each memoised function's estimated bytes held and its bound."""
    return {name: (cache.nbytes, cache.max_bytes) for name, cache in _CACHES.items()}


def clear_caches() -> None:
    """Empty every memo of the sandbox (tactic parses, rendered goals, normal forms)."""
    for cache in _CACHES.values():
        cache.clear()
