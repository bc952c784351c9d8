"""Saving and loading models and tokenizers; the model flags; one clear line for each
load the user cannot have (missing model, unknown device, remote code, missing vLLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoTokenizer

from lean_env.errors import BackendUnavailable
from prover.backends import build_proposer
from prover.cli.main import cli
from prover.config import ConfigError, ModelConfig, ProverConfig, override
from prover.models import (
    SCRATCH_SIZES,
    GenerationSettings,
    ModelLoadError,
    ModelNotFound,
    build_scratch_model,
    check_device,
    load_proposer,
    new_tokenizer,
    read_prover_config,
    write_prover_config,
)

LEAN_TEXT = "h : ∀ x : ℕ, ∃ y : ℝ, ¬(x = 0) ∧ (p ∨ q) ↔ r → s\n⊢ α ≤ β ⟨a, b⟩"
DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


@pytest.fixture(scope="module")
def sandbox_model(tmp_path_factory):
    """A tiny causal ByT5 model saved with format ``sandbox`` recorded."""
    directory = tmp_path_factory.mktemp("sandbox-model")
    tokenizer = new_tokenizer()
    torch.manual_seed(1)
    model = build_scratch_model(SCRATCH_SIZES["tiny"], "causal", tokenizer)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prover_config(directory, {"format": "sandbox"})
    return directory


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
    proposer = load_proposer(tmp_path, settings={"max_new_tokens": 8})
    assert proposer.format.name == fmt
    assert proposer.settings.beam_search == (fmt == "reprover") and proposer.settings.max_new_tokens == 8
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, proposer.model.state_dict()[name]), name
    assert len(proposer.propose(queries, 3)) == len(queries)


@pytest.mark.parametrize("dtype,expected", [("auto", torch.float32), ("bfloat16", torch.bfloat16), ("float16", torch.float16)])
def test_dtype_is_applied(sandbox_model, dtype, expected):
    proposer = load_proposer(sandbox_model, dtype=dtype, settings=GenerationSettings(max_new_tokens=4))
    assert proposer.model.dtype == expected


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
    with pytest.raises(ModelLoadError, match="no chat template"):
        load_proposer(tmp_path, format="kimina-prover")


def test_model_code_outside_transformers_needs_trust_remote_code(tmp_path):
    """InternLM2.5-StepProver's config names its own code (auto_map); without the flag, one line."""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "internlm2", "architectures": ["InternLM2ForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_internlm2.InternLM2Config",
                     "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"},
    }))
    with pytest.raises(ModelLoadError, match="--trust-remote-code"):
        load_proposer(tmp_path, format="internlm-stepprover")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_load_error(sandbox_model):
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        check_device("cuda")
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_proposer(sandbox_model, device="cuda:0")
    check_device("cpu")


def test_device_dtype_and_backend_are_checked_in_config():
    for bad, needle in [({"device": "banana"}, "model.device must be cpu, cuda, cuda:N or mps"),
                        ({"device": "cuda:x"}, "model.device"), ({"dtype": "int8"}, "must be one of auto"),
                        ({"backend": "tgi"}, "must be one of transformers, vllm"), ({"top_p": 1.5}, "model.top_p")]:
        with pytest.raises(ConfigError, match=needle):
            override(ProverConfig(), [(f"model.{key}", value) for key, value in bad.items()])
    config = override(ProverConfig(), [("model.device", "cuda:1"), ("model.stop", ["```"]), ("model.engine_args", {"seed": 3})])
    assert config.model.device == "cuda:1" and config.model.stop == ("```",) and hash(config.model)
    assert ModelConfig().max_new_tokens is None  # the format decides


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("extra,needle", [
    (["--device", "cuda"], "CUDA is not available"),
    (["--device", "banana"], "model.device must be cpu, cuda, cuda:N or mps, got 'banana'"),
    (["--backend", "vllm", "--set", "model.beam_search=true"], "beam search"),
])
def test_model_flag_mistakes_are_one_line_exit_2(sandbox_model, extra, needle):
    result = CliRunner().invoke(cli, ["prove", DEMO, "--model", str(sandbox_model), *extra])
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) <= 3, result.output


def test_unknown_dtype_is_a_usage_error(sandbox_model):
    result = CliRunner().invoke(cli, ["prove", DEMO, "--model", str(sandbox_model), "--dtype", "int4"])
    assert result.exit_code == 2 and "Invalid value for '--dtype'" in result.output, result.output


def test_model_flags_reach_the_proposer(sandbox_model):
    result = CliRunner().invoke(cli, [
        "prove", DEMO, "--model", str(sandbox_model), "--dtype", "float32", "--trust-remote-code",
        "--max-expansions", "2", "--set", "model.max_new_tokens=6", "--set", "model.top_p=0.9",
    ])
    assert result.exit_code in (0, 1), result.output


def test_decoding_keys_reach_the_generation_settings(sandbox_model):
    config = override(ModelConfig(proposer="model", path=str(sandbox_model)),
                      [("oversample", 4), ("temperature", 0.7), ("max_new_tokens", 6)])
    settings = build_proposer(config, "sandbox").settings
    assert (settings.oversample, settings.temperature, settings.max_new_tokens) == (4, 0.7, 6)
    assert build_proposer(ModelConfig(proposer="model", path=str(sandbox_model)), "sandbox").settings.oversample == 1
    with pytest.raises(ConfigError, match="oversample"):
        override(ProverConfig(), [("model.oversample", 0)])


def test_vllm_backend_without_vllm_is_one_line(sandbox_model):
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailable, match="vLLM is not installed"):
            load_proposer(sandbox_model, backend="vllm")
        result = CliRunner().invoke(cli, ["prove", DEMO, "--model", str(sandbox_model), "--backend", "vllm"])
        assert result.exit_code == 2 and "vLLM is not installed" in result.output, result.output
    else:
        pytest.skip("vLLM is installed here (the vllm tier covers it)")


def test_vllm_extra_states_the_supported_range():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    from prover.models import VLLM_REQUIREMENT

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["vllm"] == [VLLM_REQUIREMENT]
