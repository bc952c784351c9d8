"""``prover train`` through click: config file, presets, flag overrides, --set, resume and user errors."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from click.testing import CliRunner

from prover.cli.main import cli
from prover.models import load_proposer, read_prover_config

CONFIG = """
per_device_train_batch_size = 2
max_steps = 3
seed = 5
model_size = "tiny"
prompt_format = "sandbox"
loss_type = "dco-step"
dco_n = 8
learning_rate = 0.01
warmup_steps = 1
save_steps = 2
logging_steps = 1
device_type = "cpu"
"""


@pytest.fixture
def setup(tmp_path, leandojo_records):
    data = tmp_path / "train.json"
    data.write_text(json.dumps(leandojo_records), encoding="utf-8")
    config = tmp_path / "train.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return data, config


def test_train_from_a_config_file_with_flag_overrides_then_resume(tmp_path, setup):
    data, config = setup
    out = tmp_path / "model"
    args = ["train", str(config), "--data", str(data), "-o", str(out), "--threshold", "0.05", "--threads", "1",
            "--set", "save_total_limit=1", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "trained 3/3 steps" in result.output and "loss dco-step" in result.output and "1 process" in result.output
    recorded = read_prover_config(out)
    train = recorded["train"]
    assert (train["loss_type"], train["dco_n"], train["dco_threshold"], train["dco_reduction"]) == ("dco-step", 8, 0.05, "token-mean")
    assert train["per_device_train_batch_size"] == 2 and train["save_total_limit"] == 1 and recorded["step"] == 3
    assert load_proposer(out).format.name == "sandbox"
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-3"]  # save_total_limit=1 from --set

    first = CliRunner().invoke(cli, [*args[:5], str(tmp_path / "first"), "--threads", "1", "--no-progress"])
    assert first.exit_code == 0, first.output
    resumed = CliRunner().invoke(cli, ["train", str(config), "--data", str(data), "-o", str(tmp_path / "more"),
                                       "--max-steps", "4", "--resume", str(tmp_path / "first" / "checkpoint-2"),
                                       "--threads", "1", "--progress"])
    assert resumed.exit_code == 0, resumed.output
    assert "trained 4/4 steps" in resumed.output
    logged = [json.loads(line) for line in (tmp_path / "more" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss" in r] == [3, 4]  # a resumed run logs only its own steps


def test_the_preset_is_its_config_file_and_flags_override_it(tmp_path):
    out = tmp_path / "preset"
    result = CliRunner().invoke(cli, ["train", "--preset", "sandbox-small", "--size", "tiny", "--data", "sandbox:valid",
                                      "--max-steps", "2", "-o", str(out), "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    recorded = read_prover_config(out)["train"]
    assert recorded["learning_rate"] == 2e-3 and recorded["lr_scheduler_type"] == "cosine_with_min_lr"
    assert recorded["model_size"] == "tiny" and recorded["max_steps"] == 2 and recorded["device_type"] == "cpu"


def test_max_steps_wins_over_epochs_and_minus_one_trains_epochs(tmp_path, setup):
    data, config = setup
    runner = CliRunner()
    steps = runner.invoke(cli, ["train", str(config), "--data", str(data), "--epochs", "50", "--max-steps", "2",
                                "-o", str(tmp_path / "s"), "--threads", "1", "--no-progress"])
    assert "trained 2/2 steps" in steps.output, steps.output
    epochs = runner.invoke(cli, ["train", str(config), "--data", str(data), "--epochs", "3", "--max-steps", "-1",
                                 "-o", str(tmp_path / "e"), "--threads", "1", "--no-progress"])
    assert "trained 3/3 steps" in epochs.output, epochs.output  # 2 pairs in batches of 2: one step an epoch


def test_schedule_flag_drops_the_presets_schedule_arguments(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--preset", "sandbox-small", "--size", "tiny", "--data", "sandbox:valid",
                                      "--schedule", "linear", "--max-steps", "1", "-o", str(tmp_path / "m"),
                                      "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output  # the preset's min_lr_rate belongs to cosine_with_min_lr
    assert read_prover_config(tmp_path / "m")["train"]["lr_scheduler_type"] == "linear"


def test_help_names_the_config_reference_and_the_length_rule():
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0
    assert "configs/README.md" in result.output and "TrainingArguments" in result.output
    assert "the later one given wins" in result.output and "--eval-data" in result.output and "--grad-accum" in result.output


def test_user_mistakes_are_one_line_errors(tmp_path, setup):
    data, config = setup
    runner = CliRunner()
    cases = [
        (["--preset", "nope"], "unknown preset"),
        ([str(config), "--data", str(tmp_path / "missing.json")], "training data not found"),
        ([str(config), "--data", str(data), "--format", "gpt-f"], "unknown prompt format"),
        ([str(config), "--data", str(data), "--n", "0.5", "--loss", "dco-step"], "dco_n must be a finite number >= 1"),
        ([str(config), "--data", "sandbox:test"], "refusing to train on a test split"),
        ([str(config), "--data", str(data), "--threads", "0"], "threads must be an integer >= 1"),
        ([str(config), "--data", str(data), "--fp16", "--device", "cpu"], "fp16 needs a CUDA device"),
        ([str(config), "--data", str(data), "--set", "nonsense=1"], "unknown key(s): nonsense"),
        ([str(config), "--data", str(data), "--resume", str(tmp_path)], "not a training checkpoint"),
        ([str(config), "--data", str(data), "--set", "eval_strategy=steps"], "needs eval_data"),
        ([str(config), "--data", str(data), "-o", "/proc/x/m"], "cannot write to output directory /proc/x/m"),
        (["--preset", "sandbox-small", "--set", "lr_scheduler_type=linear"],
         "lr_scheduler_kwargs min_lr_rate: not taken by the linear schedule"),
    ]
    if not torch.cuda.is_available():
        cases.append(([str(config), "--data", str(data), "--device", "cuda"], "CUDA is not available on this machine"))
    if importlib.util.find_spec("wandb") is None:
        cases.append(([str(config), "--data", str(data), "--report-to", "wandb"], "report_to wandb: not installed here"))
    for args, message in cases:
        output = ["-o", str(tmp_path / "x")] if "-o" not in args else []
        result = runner.invoke(cli, ["train", *args, *output, "--no-progress"])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize("length, steps", [
    (["--epochs", "1"], "epoch"),                      # the preset's max_steps no longer hides --epochs
    (["--max-steps", "2", "--epochs", "1"], "epoch"),  # the later one given wins
    (["--epochs", "1", "--max-steps", "2"], 2),
])
def test_train_length_is_set_by_the_later_of_epochs_and_max_steps(length, steps, tmp_path, leandojo_records):
    data = tmp_path / "train.json"
    data.write_text(json.dumps(leandojo_records), encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--preset", "sandbox-small", "--size", "tiny", "--format", "sandbox",
                                      "--data", str(data), "--batch-size", "4", *length, "-o", str(tmp_path / "m"),
                                      "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    done, total = result.output.split("trained ")[1].split(" steps")[0].split("/")
    units = int(result.output.split("steps (")[1].split(" units")[0])
    assert int(done) == int(total) == (-(-units // 4) if steps == "epoch" else steps), result.output


def test_every_rank_may_probe_the_output_directory_at_once(tmp_path):
    """Under ``accelerate launch`` each rank checks the output directory as it starts; a shared
    probe file name made one rank's check delete the other's file (exit 2 on rank 0)."""
    from concurrent.futures import ThreadPoolExecutor

    from prover.training.run import _writable

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: _writable(str(tmp_path)), range(2000)))
    assert list(tmp_path.iterdir()) == []
