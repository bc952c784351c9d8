"""Saving and loading models and tokenizers; clear errors for missing models."""

from __future__ import annotations

import pytest
import torch

from prover.models import (
    ModelLoadError,
    ModelNotFound,
    SCRATCH_SIZES,
    build_scratch_model,
    load_proposer,
    new_tokenizer,
    read_prover_config,
    write_prover_config,
)
from transformers import AutoTokenizer

LEAN_TEXT = "h : ∀ x : ℕ, ∃ y : ℝ, ¬(x = 0) ∧ (p ∨ q) ↔ r → s\n⊢ α ≤ β ⟨a, b⟩"


def test_tokenizer_round_trips_lean_unicode(tmp_path):
    tokenizer = new_tokenizer()
    ids = tokenizer(LEAN_TEXT, add_special_tokens=False).input_ids
    assert tokenizer.decode(ids) == LEAN_TEXT
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded(LEAN_TEXT, add_special_tokens=False).input_ids == ids
    assert reloaded.eos_token_id == tokenizer.eos_token_id and reloaded.pad_token_id == tokenizer.pad_token_id


@pytest.mark.parametrize("arch,fmt", [("causal", "sandbox"), ("seq2seq", "reprover")])
def test_saved_model_loads_with_its_recorded_format(tmp_path, queries, arch, fmt):
    tokenizer = new_tokenizer()
    torch.manual_seed(1)
    model = build_scratch_model(SCRATCH_SIZES["tiny"], arch, tokenizer)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    write_prover_config(tmp_path, {"format": fmt})
    assert read_prover_config(tmp_path) == {"format": fmt}
    proposer = load_proposer(tmp_path)
    assert proposer.format.name == fmt
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, proposer.model.state_dict()[name]), name
    assert len(proposer.propose(queries, 3)) == len(queries)


def test_missing_local_path_raises_model_not_found(tmp_path):
    with pytest.raises(ModelNotFound, match="not found"):
        load_proposer(tmp_path / "nope" / "model", format="sandbox")


def test_unreachable_hub_raises_model_not_found(monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # fail fast instead of retrying
    with pytest.raises(ModelNotFound, match="hub could not provide it"):
        load_proposer("no-such-owner/no-such-model-xyz", format="bfs-prover")


def test_format_is_required_and_must_fit(tmp_path):
    tokenizer = new_tokenizer()
    build_scratch_model(SCRATCH_SIZES["tiny"], "causal", tokenizer).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="no prompt format"):
        load_proposer(tmp_path)
    with pytest.raises(ModelLoadError, match="seq2seq"):
        load_proposer(tmp_path, format="reprover")
