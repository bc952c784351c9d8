"""Tactic and whole-proof models: prompt formats, proof extraction, the transformers and vLLM backends."""

from prover.models.encoding import EncodedPair, encode_conversation, encode_prompt, encode_target, score_pairs, target_logprobs
from prover.models.extraction import extract_proof
from prover.models.formats import (
    FORMAT_ALIASES,
    PROMPT_FORMATS,
    GenerationDefaults,
    PromptFormat,
    UnknownFormat,
    get_format,
    revision_rounds,
)
from prover.models.generation import Completion, CompletionProposer, GenerationSettings, merge_candidates
from prover.models.loading import (
    ModelLoadError,
    ModelNotFound,
    check_device,
    load_proposer,
    read_prover_config,
    write_prover_config,
)
from prover.models.scratch import SCRATCH_SIZES, ScratchModelConfig, build_scratch_model
from prover.models.tokenizer import new_tokenizer
from prover.models.transformers_proposer import TransformersProposer
from prover.models.vllm_proposer import VLLM_REQUIREMENT, VLLMProposer

__all__ = [
    "Completion",
    "CompletionProposer",
    "EncodedPair",
    "FORMAT_ALIASES",
    "GenerationDefaults",
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
    "VLLM_REQUIREMENT",
    "build_scratch_model",
    "check_device",
    "encode_conversation",
    "encode_prompt",
    "encode_target",
    "extract_proof",
    "get_format",
    "revision_rounds",
    "load_proposer",
    "merge_candidates",
    "new_tokenizer",
    "read_prover_config",
    "score_pairs",
    "target_logprobs",
    "write_prover_config",
]
