"""Each released prover's format on a tiny random model of its architecture class (where
transformers ships the class), through the transformers backend: the prompt ids are the
format's exact text (through the chat template for chat formats), and candidates come out.

InternLM2.5-StepProver's class (InternLM2) ships with the model as remote code, not with
transformers, so its prompt text and stop handling are checked on a Llama stand-in.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lean_env.types import ProofState, Theorem
from prover.models import SCRATCH_SIZES, GenerationSettings, TransformersProposer, build_scratch_model, get_format
from search.proposer import Query

QUERY = Query(
    theorem=Theorem(name="t", statement="theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q := by", header="import Mathlib\n"),
    state=ProofState(goals=("p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q",)),
    history=("intro x",),
)
SETTINGS = GenerationSettings(temperature=1.0, max_new_tokens=6)

# format -> the transformers architecture class its released checkpoints use
CAUSAL = {
    "bfs-prover": "qwen2",             # BFS-Prover V1/V2: Qwen2.5-Math-7B / Qwen2.5-32B
    "deepseek-prover-v1.5": "llama",   # DeepSeek-Prover-V1.5: the DeepSeekMath (Llama) architecture
    "deepseek-prover-v2": "llama",     # DeepSeek-Prover-V2-7B: built on DeepSeek-Prover-V1.5-Base
    "goedel-prover-v2": "qwen3",       # Goedel-Prover-V2-8B/32B: Qwen3
    "kimina-prover": "qwen3",          # Kimina-Prover-Distill-8B: Qwen3 (the 72B is Qwen2.5)
    "sandbox": "llama",
}


@pytest.mark.parametrize("name,architecture", CAUSAL.items())
def test_causal_formats_on_their_architecture(name, architecture, bpe_tokenizer, make_causal):
    fmt = get_format(name)
    model = make_causal(architecture, bpe_tokenizer)
    proposer = TransformersProposer(model, bpe_tokenizer, fmt, settings=SETTINGS)
    ids = proposer.prompt_ids(QUERY)
    text = bpe_tokenizer.decode(ids)
    if fmt.chat:
        user = fmt.render(QUERY)
        system = f"<|im_start|>system\n{fmt.system}<|im_end|>\n" if fmt.system else ""
        assert text == f"{system}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    else:
        assert text == fmt.render(QUERY)
    assert len(proposer.propose([QUERY], 3)) == 1
    assert all(len(c.token_ids) <= SETTINGS.max_new_tokens for c in proposer.complete([QUERY], 2)[0])


def test_reprover_on_t5_with_beam_search(tokenizer):
    torch.manual_seed(0)
    model = build_scratch_model(SCRATCH_SIZES["tiny"], "seq2seq", tokenizer)
    fmt = get_format("reprover")
    proposer = TransformersProposer(model, tokenizer, fmt, settings=GenerationSettings.for_format(fmt, max_new_tokens=6))
    assert proposer.settings.beam_search
    assert tokenizer.decode(proposer.prompt_ids(QUERY), skip_special_tokens=True) == QUERY.state.pp
    (beams,) = proposer.complete([QUERY], 3)
    assert len(beams) == 3 and len({c.token_ids for c in beams}) == 3


def test_internlm_prompt_and_im_end_stop_on_a_stand_in(bpe_tokenizer, make_causal):
    """The chat turn is written out by the format (as InternLM's script does), and
    ``<|im_end|>``, one token of the vocabulary, ends a completion even though decoding
    drops it as a special token."""
    fmt = get_format("internlm-stepprover")
    model = make_causal("llama", bpe_tokenizer)
    proposer = TransformersProposer(model, bpe_tokenizer, fmt, settings=GenerationSettings.for_format(fmt, beam_search=False))
    assert bpe_tokenizer.decode(proposer.prompt_ids(QUERY)) == fmt.render(QUERY)
    im_end = bpe_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in proposer.end_ids
    tokens = [bpe_tokenizer.convert_tokens_to_ids("simp"), im_end, 5, 6]
    completion = proposer._completion(tokens, [-1.0, -2.0, -4.0, -8.0])
    assert completion.token_ids == tuple(tokens[:2]) and completion.logprob == -3.0 and completion.text == "simp"


@pytest.mark.parametrize("name", ["goedel-prover-v2", "kimina-prover", "deepseek-prover-v2"])
def test_a_revision_query_is_prompted_with_the_formats_revision_conversation(name, bpe_tokenizer, make_causal):
    """Formats with a released revision prompt get it (through the chat template); the
    others answer a revision request with their first-attempt prompt."""
    from prover.models import encode_conversation, revision_rounds
    from search.proposer import Attempt

    fmt = get_format(name)
    proposer = TransformersProposer(make_causal(CAUSAL[name], bpe_tokenizer), bpe_tokenizer, fmt, settings=SETTINGS)
    query = dataclasses.replace(QUERY, revising=(Attempt("exact hq", ("error 2:2: type mismatch",)),))
    ids = proposer.prompt_ids(query)
    if fmt.revise is None:
        assert ids == proposer.prompt_ids(QUERY)
    else:
        expected = encode_conversation(bpe_tokenizer, fmt.revise(query, revision_rounds(query)), max_tokens=10**6)
        assert ids == expected[-SETTINGS.max_prompt_tokens:]
        assert "<error>  exact hq</error>" in bpe_tokenizer.decode(ids)
    assert len(proposer.propose([query], 2)) == 1
