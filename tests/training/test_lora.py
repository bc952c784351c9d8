"""LoRA through peft (the 'lora' extra) on a tiny local model: only adapters train, both
the adapter and the merged model load. QLoRA needs CUDA and bitsandbytes: only its refusal
on a machine without them is tested here."""

from __future__ import annotations

import dataclasses

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, set_seed

from prover.models import SCRATCH_SIZES, build_scratch_model, load_proposer, new_tokenizer, write_prover_config
from prover.training import build_model, train


def _pretrained(directory) -> dict[str, torch.Tensor]:
    """Save a tiny from-scratch model as a 'pretrained' model directory; return its weights."""
    set_seed(11)
    tokenizer = new_tokenizer()
    model = build_scratch_model(SCRATCH_SIZES["tiny"], "causal", tokenizer)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prover_config(directory, {"format": "sandbox"})
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_lora_trains_only_adapters_and_saves_a_loadable_adapter_and_merged_model(tiny_config, traces, tmp_path):
    base_dir = tmp_path / "base"
    base = _pretrained(base_dir)
    config = dataclasses.replace(tiny_config, model_name_or_path=str(base_dir), lora_r=4, lora_alpha=8.0,
                                 lora_dropout=0.0, lora_target_modules="q_proj,v_proj", learning_rate=5e-2, max_steps=5)
    model, tokenizer = build_model(config)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    result = train(config, traces=traces, model=model, tokenizer=tokenizer)
    assert 0 < result.trainable_parameters < result.parameters

    out = result.output_dir
    assert (out / "adapter" / "adapter_config.json").is_file() and (out / "adapter" / "adapter_model.safetensors").is_file()
    reloaded_base = AutoModelForCausalLM.from_pretrained(base_dir)
    assert all(torch.equal(reloaded_base.state_dict()[k], v) for k, v in base.items())  # the base file is untouched
    adapted = PeftModel.from_pretrained(reloaded_base, out / "adapter").eval()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    for name, tensor in merged.state_dict().items():  # merging changed exactly the adapted weights
        assert torch.equal(tensor, base[name]) == ("q_proj" not in name and "v_proj" not in name), name
    ids = torch.tensor([tokenizer("h : p\n⊢ p\n>>>exact h").input_ids])
    with torch.no_grad():
        assert torch.allclose(adapted(input_ids=ids).logits, merged(input_ids=ids).logits, atol=1e-5)
        assert not torch.allclose(AutoModelForCausalLM.from_pretrained(base_dir)(input_ids=ids).logits,
                                  merged(input_ids=ids).logits, atol=1e-5)
    assert load_proposer(out).format.name == "sandbox"
