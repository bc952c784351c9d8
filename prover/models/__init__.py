"""Tactic and whole-proof models: prompt formats, the transformers proposer, the vLLM adapter."""

from prover.models.encoding import EncodedPair, encode_prompt, encode_target, score_pairs, target_logprobs
from prover.models.formats import PROMPT_FORMATS, PromptFormat, UnknownFormat, get_format
from prover.models.loading import ModelLoadError, ModelNotFound, load_proposer, read_prover_config, write_prover_config
from prover.models.scratch import SCRATCH_SIZES, ScratchModelConfig, build_scratch_model
from prover.models.tokenizer import new_tokenizer
from prover.models.transformers_proposer import GenerationSettings, TransformersProposer, merge_candidates
from prover.models.vllm_proposer import VLLMProposer, load_vllm_proposer

__all__ = [
    "EncodedPair",
    "GenerationSettings",
    "ModelLoadError",
    "ModelNotFound",
    "PROMPT_FORMATS",
    "PromptFormat",
    "SCRATCH_SIZES",
    "ScratchModelConfig",
    "TransformersProposer",
    "UnknownFormat",
    "VLLMProposer",
    "build_scratch_model",
    "encode_prompt",
    "encode_target",
    "get_format",
    "load_proposer",
    "load_vllm_proposer",
    "merge_candidates",
    "new_tokenizer",
    "read_prover_config",
    "score_pairs",
    "target_logprobs",
    "write_prover_config",
]
