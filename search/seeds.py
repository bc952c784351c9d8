"""The one seed rule: how a run's seed becomes each attempt's and each query's seed.

Seeds are derived by hashing, never drawn from a shared generator, so a search gives the
same result alone, batched with others, in another process or on another machine.
"""

from __future__ import annotations

import hashlib

__all__ = ["derive_seed", "attempt_seed"]


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 63-bit seed from ``seed`` and ``parts`` (independent of process and batch)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def attempt_seed(seed: int, attempt: int) -> int:
    """The seed of repeated attempt ``attempt`` of a run seeded with ``seed`` (attempt 0 keeps ``seed``)."""
    return seed + 1_000_003 * attempt
