"""The tokenizer of models trained from scratch here: byte-level ByT5.

ByT5 needs no download (its vocabulary is the 256 bytes plus special tokens), encodes
every Unicode symbol Lean prints (⊢ ∧ ∨ ¬ ↔ → ∀ ∃ ℕ ℝ ...) losslessly, round-trips through
``save_pretrained``/``from_pretrained`` and is what ReProver's tactic generator uses.
The price is about 3 tokens per non-ASCII symbol, acceptable for short tactic states.
"""

from __future__ import annotations

from transformers import ByT5Tokenizer, PreTrainedTokenizerBase

__all__ = ["new_tokenizer"]


def new_tokenizer() -> PreTrainedTokenizerBase:
    """A fresh byte-level tokenizer (pad 0, eos 1, unk 2, bytes at 3..258)."""
    return ByT5Tokenizer()
