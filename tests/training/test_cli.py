"""``prover train`` through click: config file, flag overrides, user errors, resume."""

from __future__ import annotations

import json

import pytest

from click.testing import CliRunner

from prover.cli.main import cli
from prover.models import load_proposer, read_prover_config

CONFIG = """
batch_size = 2
max_steps = 3
seed = 5

[model]
size = "tiny"
format = "sandbox"

[loss]
kind = "dco-step"
n = 8

[optim]
lr = 0.01
warmup_steps = 1
"""


@pytest.fixture
def setup(tmp_path, leandojo_records):
    data = tmp_path / "train.json"
    data.write_text(json.dumps(leandojo_records), encoding="utf-8")
    config = tmp_path / "train.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return data, config


def test_train_from_a_config_file_with_flag_overrides(tmp_path, setup):
    data, config = setup
    out = tmp_path / "model"
    args = ["train", str(config), "--data", str(data), "-o", str(out), "--threshold", "0.05", "--save-every", "2", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "trained 3/3 steps" in result.output and "loss dco-step" in result.output
    recorded = read_prover_config(out)
    assert recorded["train"]["loss"] == {"kind": "dco-step", "n": 8, "threshold": 0.05, "reduction": "token-mean"}
    assert recorded["train"]["batch_size"] == 2 and recorded["step"] == 3
    assert load_proposer(out).format.name == "sandbox"

    resumed = CliRunner().invoke(
        cli, ["train", str(config), "--data", str(data), "-o", str(tmp_path / "more"), "--max-steps", "4",
              "--resume", str(out / "checkpoints" / "step-000002"), "--progress"]
    )
    assert resumed.exit_code == 0, resumed.output
    assert "trained 4/4 steps" in resumed.output
    assert len((tmp_path / "more" / "train_log.jsonl").read_text().splitlines()) == 2


def test_user_mistakes_are_one_line_errors(tmp_path, setup):
    data, config = setup
    runner = CliRunner()
    cases = [
        (["train", "--preset", "nope"], "unknown preset"),
        (["train", str(config), "--data", str(tmp_path / "missing.json")], "training data not found"),
        (["train", str(config), "--data", str(data), "--format", "gpt-f"], "unknown prompt format"),
        (["train", str(config), "--data", str(data), "--n", "0.5", "--loss", "dco-step"], "at least 1"),
        (["train", str(config), "--data", "sandbox:test"], "refusing to train on a test split"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, [*args, "-o", str(tmp_path / "x"), "--no-progress"])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output


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
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    done, total = result.output.split("trained ")[1].split(" steps")[0].split("/")
    units = int(result.output.split("steps (")[1].split(" units")[0])
    assert int(done) == int(total) == (-(-units // 4) if steps == "epoch" else steps), result.output
