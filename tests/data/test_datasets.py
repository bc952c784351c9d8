"""``Dataset`` subsets: the first N, or N spread over a split ordered by tier."""

from __future__ import annotations

from prover import load_dataset


def test_spread_samples_every_tier_and_says_so_in_the_manifest():
    valid = load_dataset("sandbox:valid")
    picked = valid.spread(10)
    step = len(valid.theorems) // 10
    assert picked.theorems == valid.theorems[::step][:10] and picked.theorems != valid.limit(10).theorems
    assert picked.describe()["spread"] == 10 and picked.describe()["count"] == 10 and picked.name == valid.name
    assert valid.spread(None) is valid and valid.spread(len(valid.theorems) + 1) is valid
