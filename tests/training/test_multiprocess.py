"""Real multi-process training: ``accelerate launch`` with two CPU processes (DDP over gloo)
runs the sandbox preset's config on a tiny model, exactly as the README shows.

Three launches of a few steps each (about 20-40 s apiece on two busy cores): the loss
curve of two processes matches one process with the same global batch (within a
relative 1e-4: only the order of float sums differs), and a two-process DCO run resumed
from a checkpoint continues data order and refill streams exactly (equal weights).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from prover.config import override
from prover.training import CONFIGS_DIR, REFILL_STATE_FILE, load_train_config, sandbox_traces, train

pytestmark = [pytest.mark.accelerate, pytest.mark.slow]

# The sandbox preset, shrunk: a tiny model, 4 steps, the valid split (small to replay).
SHRUNK = ["--preset", "sandbox-small", "--size", "tiny", "--data", "sandbox:valid", "--max-steps", "4",
          "--logging-steps", "1", "--threads", "1", "--no-progress"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(*args: str) -> str:
    """``accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 2 -m prover.cli train ARGS``."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS_DIR / "accelerate" / "ddp.yaml"),
               "--num_processes", "2", "--main_process_port", str(_free_port()), "-m", "prover.cli", "train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _losses(directory) -> list[tuple[int, float]]:
    logged = [json.loads(line) for line in (directory / "train_log.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"]) for r in logged if "loss" in r]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert ("accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 2 -m prover.cli train "
            "--preset sandbox-small --batch-size 16") in readme  # the README's command, which _launch runs shrunk
    output = _launch(*SHRUNK, "--batch-size", "4", "-o", str(tmp_path / "two"))
    assert "trained 4/4 steps" in output and "2 process(es)" in output
    config = override(load_train_config(preset="sandbox-small"), [
        ("model_size", "tiny"), ("max_steps", 4), ("logging_steps", 1), ("per_device_train_batch_size", 8),
        ("output_dir", str(tmp_path / "one")), ("disable_tqdm", True),
    ])
    one = train(config, traces=sandbox_traces("valid"))
    two = _losses(tmp_path / "two")
    assert [step for step, _ in two] == [1, 2, 3, 4]
    assert [loss for _, loss in two] == pytest.approx([loss for _, loss in _losses(one.output_dir)], rel=1e-4)
    single = AutoModelForCausalLM.from_pretrained(one.output_dir).state_dict()
    double = AutoModelForCausalLM.from_pretrained(tmp_path / "two").state_dict()
    assert all(torch.allclose(tensor, double[name], atol=1e-4) for name, tensor in single.items())


def test_two_process_dco_resume_continues_data_and_refill_streams_exactly(tmp_path):
    dco = [*SHRUNK, "--batch-size", "4", "--loss", "dco-step", "--n", str(math.exp(60)), "--save-steps", "2",
           "--set", "save_total_limit=3"]
    _launch(*dco, "-o", str(tmp_path / "straight"))
    _launch(*dco, "-o", str(tmp_path / "resumed"), "--resume", str(tmp_path / "straight" / "checkpoint-2"))
    assert _losses(tmp_path / "resumed") == _losses(tmp_path / "straight")[2:]
    streams = json.loads((tmp_path / "straight" / "checkpoint-4" / REFILL_STATE_FILE).read_text())
    assert streams == json.loads((tmp_path / "resumed" / "checkpoint-4" / REFILL_STATE_FILE).read_text())
    assert len(streams) == 2 and streams[0]["seed"] != streams[1]["seed"]  # one stream per process
    assert all(s["position"] > 0 for s in streams)  # both processes refilled
    straight = AutoModelForCausalLM.from_pretrained(tmp_path / "straight").state_dict()
    resumed = AutoModelForCausalLM.from_pretrained(tmp_path / "resumed").state_dict()
    assert all(torch.equal(tensor, resumed[name]) for name, tensor in straight.items())
