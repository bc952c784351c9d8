"""Fixed, versioned sandbox splits, generated deterministically on demand.

No data files: each split is a pure function of ``SANDBOX_DATA_VERSION``. Splits are
built test first, then valid, then train, each excluding the statements (up to the
theorem's name) of the ones before, so they are disjoint.
"""

from __future__ import annotations

from functools import lru_cache

from propsandbox.generator import Difficulty, GeneratedTheorem, generate_theorems, signature

__all__ = ["SANDBOX_DATA_VERSION", "SPLIT_SIZES", "TIERS", "split_names", "load_split"]

SANDBOX_DATA_VERSION = "1"
SPLIT_SIZES = {"test": 100, "valid": 100, "train": 2000}
TIERS = (Difficulty(2, 2, 2), Difficulty(3, 3, 3), Difficulty(3, 4, 4), Difficulty(4, 3, 5))
_ORDER = ("test", "valid", "train")


def split_names() -> tuple[str, ...]:
    """Names of the available splits."""
    return tuple(SPLIT_SIZES)


@lru_cache(maxsize=None)
def load_split(name: str) -> tuple[GeneratedTheorem, ...]:
    """The theorems of split ``name`` (``train``, ``valid`` or ``test``), in a fixed order."""
    if name not in SPLIT_SIZES:
        raise ValueError(f"unknown sandbox split {name!r}; choose one of {', '.join(split_names())}")
    exclude: set[str] = set()
    for earlier in _ORDER[:_ORDER.index(name)]:
        exclude.update(signature(g.theorem.statement) for g in load_split(earlier))
    per_tier, extra = divmod(SPLIT_SIZES[name], len(TIERS))
    out: list[GeneratedTheorem] = []
    for i, tier in enumerate(TIERS):
        seed = int(SANDBOX_DATA_VERSION) * 1_000_000 + _ORDER.index(name) * 1_000 + i
        batch = generate_theorems(per_tier + (i < extra), seed=seed, difficulty=tier, split=name,
                                  start=len(out) + 1, exclude=frozenset(exclude))
        exclude.update(signature(g.theorem.statement) for g in batch)
        out.extend(batch)
    return tuple(out)
