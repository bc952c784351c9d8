"""Sampling that does not depend on batch composition.

Transformers samples with the global RNG, so a query's candidates change with whatever
else shares its batch. Here each generated row draws Gumbel noise from a counter-based
hash of (query seed, sample index, decoding step, token id): argmax(logits/T + Gumbel)
is an exact sample from softmax(logits/T), identical whichever batch the row is in.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

__all__ = ["row_keys", "HashedGumbelSampler"]

_MASK = 0xFFFFFFFF
_MULT = 0x45D9F3B


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash, computed in int64 so products never overflow."""
    x = (((x >> 16) ^ x) * _MULT) & _MASK
    x = (((x >> 16) ^ x) * _MULT) & _MASK
    return (x >> 16) ^ x


def row_keys(seeds: list[int], samples: list[int]) -> torch.Tensor:
    """One 32-bit key per generated row from its query seed and sample index."""
    seed = torch.tensor([(s & _MASK) ^ ((s >> 32) & _MASK) for s in seeds], dtype=torch.long)
    return _mix(_mix(seed) ^ torch.tensor(samples, dtype=torch.long))


class HashedGumbelSampler(LogitsProcessor):
    """Logits processor turning greedy decoding into seeded per-row sampling at
    ``temperature`` from the nucleus holding ``top_p`` of the probability.

    ``start_len`` is the decoder length when generation starts, so the step counter is
    the number of tokens generated so far whatever the prompt padding.
    """

    def __init__(self, keys: torch.Tensor, *, temperature: float, start_len: int, top_p: float = 1.0):
        self.keys = keys
        self.temperature = temperature
        self.top_p = top_p
        self.start_len = start_len

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.start_len
        vocab = torch.arange(scores.shape[1], device=scores.device)
        token_keys = _mix(_mix(vocab) ^ step)
        bits = _mix(token_keys[None, :] ^ self.keys.to(scores.device)[:, None])
        uniform = (bits.to(torch.float64) + 0.5) / 2.0**32
        gumbel = -torch.log(-torch.log(uniform))
        scaled = scores.to(torch.float64) / self.temperature
        if self.top_p < 1.0:
            scaled = scaled.masked_fill(_outside_nucleus(scaled, self.top_p), float("-inf"))
        return (scaled + gumbel).to(scores.dtype)


def _outside_nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Tokens outside the smallest most-probable set whose probability reaches ``top_p``
    (the most probable token is always kept), as a mask like ``logits``."""
    ordered, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(ordered, dim=-1)
    before = probs.cumsum(dim=-1) - probs
    return torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before >= top_p)
