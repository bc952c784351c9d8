"""Tiny randomly initialised models (no download) for the model tests.

Two tokenizers: the project's byte-level ByT5 (what ``prover train`` uses), and a small
byte-level BPE built here with ``tokenizers`` that has the special tokens and ChatML chat
template of the Qwen-family provers (``<|im_start|>``, ``<|im_end|>``), so chat formats and
single-token stop strings are exercised for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lean_env.types import ProofState, Theorem
from prover.models import SCRATCH_SIZES, build_scratch_model, new_tokenizer
from search.proposer import Query

BYTE_OFFSET = 3  # ByT5: ids 3..258 are the bytes 0..255
# Generated text must re-encode to the very tokens generated: ASCII only, no whitespace
# (cleaning strips it), no pad/unk (they decode to nothing).
UNROUNDTRIPPABLE = [0, 2, *(BYTE_OFFSET + b for b in range(128) if chr(b).isspace()), *range(BYTE_OFFSET + 128, 384)]

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
BPE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BPE_CORPUS = [
    "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "⊢ True", "h : a\n⊢ a ∨ b ∨ c ∨ ¬d", "x : ℕ\n⊢ ∀ y, x ≤ y → y ≥ x",
    "intro h", "exact hp", "constructor", "simp [h]", "linarith", "nlinarith [sq_nonneg (a - b)]", "rcases h with ⟨a, b⟩",
    "theorem foo (p : Prop) (hp : p) : p := by", "import Mathlib\nopen BigOperators Real Nat", "Complete the following Lean 4 code:",
    "```lean4\n", "```", "NAME: PROOF_BEFORE: STATE_BEFORE: TACTIC:", ":::", ">>>", "sorry",
]


def build_bpe_tokenizer(vocab_size: int = 400):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with ChatML specials and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=BPE_SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    core.train_from_iterator(BPE_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tokenizer.chat_template = CHATML
    return tokenizer


def build_causal(architecture: str, tokenizer, *, seed: int = 0, hidden: int = 64, heads: int = 2, init: float = 0.02):
    """A 2-layer random decoder of a transformers architecture class (``llama``, ``qwen2``,
    ``qwen3``); a larger ``init`` (weight std) gives peakier, more repetitive distributions."""
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    config = AutoConfig.for_model(
        architecture, vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=2, num_attention_heads=heads, num_key_value_heads=heads, head_dim=hidden // heads,
        max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False, initializer_range=init,
    )
    return AutoModelForCausalLM.from_config(config).eval()


def save_model(directory: Path, model, tokenizer, fmt: str) -> Path:
    """Save ``model`` and ``tokenizer`` as ``prover train`` would, with ``fmt`` recorded."""
    from prover.models import write_prover_config

    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prover_config(directory, {"format": fmt})
    return directory


@pytest.fixture(scope="session")
def tokenizer():
    return new_tokenizer()


@pytest.fixture(scope="session")
def bpe_tokenizer():
    return build_bpe_tokenizer()


@pytest.fixture(scope="session")
def make_causal():
    """``build_causal``: tiny random decoders of a named architecture class."""
    return build_causal


@pytest.fixture(scope="session")
def saved_model():
    """``save_model``: write a model directory as ``prover train`` does."""
    return save_model


@pytest.fixture(scope="session", params=["causal", "seq2seq"])
def arch_model(request, tokenizer):
    """(architecture, model): a tiny ByT5-vocabulary Llama or T5."""
    torch.manual_seed(0)
    model = build_scratch_model(SCRATCH_SIZES["tiny"], request.param, tokenizer)
    model.generation_config.suppress_tokens = UNROUNDTRIPPABLE
    return request.param, model.eval()


@pytest.fixture(scope="session")
def queries() -> list[Query]:
    goals = ["p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "⊢ True", "h : a\n⊢ a ∨ b ∨ c ∨ ¬d", "x : ℕ\n⊢ ∀ y, x ≤ y → y ≥ x"]
    theorem = Theorem(name="t", statement="theorem t (p q : Prop) : p ∧ q := by")
    return [Query(theorem=theorem, state=ProofState(goals=(g,)), seed=7 * i) for i, g in enumerate(goals)]


@pytest.fixture(autouse=True)
def _single_threaded_torch(one_thread):
    """Every model test runs with torch single-threaded (see ``one_thread``)."""
