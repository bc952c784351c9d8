"""Small transformer configurations for models trained from scratch here.

Decoder-only models are Llama-style, encoder-decoder ones T5-style (ReProver's family);
both use the byte-level tokenizer of ``prover.models.tokenizer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, PreTrainedTokenizerBase, T5Config, T5ForConditionalGeneration

from prover.models.formats import Architecture

__all__ = ["ScratchModelConfig", "SCRATCH_SIZES", "build_scratch_model", "llama_config"]


@dataclass(frozen=True)
class ScratchModelConfig:
    """Shape of a from-scratch model; ``layers`` counts each stack of an encoder-decoder."""

    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    ffn_size: int = 512
    max_positions: int = 1024


SCRATCH_SIZES: dict[str, ScratchModelConfig] = {
    "tiny": ScratchModelConfig(hidden_size=32, layers=1, heads=2, ffn_size=64, max_positions=512),
    "small": ScratchModelConfig(hidden_size=128, layers=2, heads=4, ffn_size=256, max_positions=512),
    "100m": ScratchModelConfig(hidden_size=768, layers=12, heads=12, ffn_size=3072, max_positions=2048),
}


def build_scratch_model(
    config: ScratchModelConfig, architecture: Architecture, tokenizer: PreTrainedTokenizerBase
) -> PreTrainedModel:
    """A randomly initialised model of ``config``'s shape (seeded by the caller's torch RNG)."""
    specials = dict(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id
    )
    if architecture == "seq2seq":
        return T5ForConditionalGeneration(
            T5Config(
                d_model=config.hidden_size,
                d_ff=config.ffn_size,
                d_kv=config.hidden_size // config.heads,
                num_layers=config.layers,
                num_decoder_layers=config.layers,
                num_heads=config.heads,
                dropout_rate=0.0,
                decoder_start_token_id=tokenizer.pad_token_id,
                **specials,
            )
        )
    return LlamaForCausalLM(llama_config(config, tokenizer, bos_token_id=tokenizer.bos_token_id, tie_word_embeddings=True))


def llama_config(config: ScratchModelConfig, tokenizer: PreTrainedTokenizerBase, **extra: object) -> LlamaConfig:
    """The Llama configuration of ``config``'s shape over ``tokenizer``'s vocabulary and
    special tokens (``extra`` adds fields, e.g. a classification head's)."""
    return LlamaConfig(
        hidden_size=config.hidden_size,
        intermediate_size=config.ffn_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=config.max_positions,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )
