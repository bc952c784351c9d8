"""The training loop: learning, confidence limiting, refill, checkpoints and resume."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from prover.config import ConfigError
from prover.models import get_format, load_proposer, new_tokenizer, read_prover_config, score_pairs
from prover.training import LossConfig, Trainer, encode_units


def _mean_nll(trainer: Trainer) -> float:
    pairs = [pair for unit in trainer.units for pair in unit]
    scores = score_pairs(trainer.model, trainer.format, pairs, pad_id=trainer.tokenizer.pad_token_id)
    return -sum(lp for lp, _ in scores) / sum(n for _, n in scores)


def test_a_few_steps_reduce_the_loss(tiny_config, traces):
    trainer = Trainer(dataclasses.replace(tiny_config, max_steps=25), traces=traces)
    before = _mean_nll(trainer)
    history = trainer.train()
    assert len(history) == 25 and all(s.units == 4 and s.dropped == 0 and s.mean_weight == 1 for s in history)
    assert _mean_nll(trainer) < 0.6 * before


def _memorised_probability(config, loss: dict, make_trace) -> float:
    memorise = [make_trace("m", [("⊢ a ∧ b", "constructor")])]
    config = dataclasses.replace(config, max_steps=100, batch_size=1, loss=LossConfig(**loss),
                                 optim=dataclasses.replace(config.optim, schedule="constant"))
    trainer = Trainer(config, traces=memorise)
    trainer.train()
    ((logprob, _),) = score_pairs(trainer.model, trainer.format, list(trainer.units[0]), pad_id=0)
    return math.exp(logprob)


def test_confidence_saturates_under_ce_but_stays_bounded_under_dco(tiny_config, make_trace):
    assert _memorised_probability(tiny_config, {"kind": "ce"}, make_trace) > 0.95
    # F(256, p) is about 0.1 at p = 0.015: the example is dropped from then on ...
    assert _memorised_probability(tiny_config, {"kind": "dco-step", "n": 256}, make_trace) < 0.05
    # ... and even without dropping its vanishing weight stops the confidence growing.
    assert _memorised_probability(tiny_config, {"kind": "dco-step", "n": 256, "threshold": 0.0}, make_trace) < 0.15


def test_dropped_units_are_refilled_to_keep_the_batch_size(tiny_config, make_trace):
    """Short targets are likely (p ≈ e^-12 untrained), long ones not (p ≈ e^-190); at
    N' = e^60 the short ones have F ≈ 0 and are dropped, long ones F ≈ 1 and kept."""
    data = [make_trace(f"s{i}", [(f"⊢ s{i}", "x")]) for i in range(10)]
    data += [make_trace(f"l{i}", [(f"⊢ l{i}", "exact (And.intro hp hq) -- a long tactic")]) for i in range(10)]
    config = dataclasses.replace(tiny_config, batch_size=6, max_steps=8, loss=LossConfig(kind="dco-step", n=math.exp(60)))
    trainer = Trainer(dataclasses.replace(config, optim=dataclasses.replace(config.optim, lr=0.0)), traces=data)
    history = trainer.train()
    assert all(s.units == 6 for s in history)
    dropped = sum(s.dropped for s in history) / len(history)
    assert 0.2 < dropped < 0.8
    assert all(s.logprob < -100 for s in history)  # only long targets were kept
    assert trainer.stream.units_seen > 6 * 8


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # no step: nothing kept
def test_refill_gives_up_when_everything_is_dropped(tiny_config, traces):
    config = dataclasses.replace(tiny_config, max_steps=2, max_refill_rounds=3, loss=LossConfig(kind="dco-step", n=1e300))
    trainer = Trainer(config, traces=traces)
    history = trainer.train()
    assert all(s.units == 0 and s.dropped == 1.0 for s in history)
    assert trainer.stream.units_seen == 2 * 3 * 4  # steps × refill rounds × batch


def test_proof_level_units_are_whole_traces(tiny_config, traces):
    trainer = Trainer(dataclasses.replace(tiny_config, loss=LossConfig(kind="dco-proof", n=4)), traces=traces)
    assert len(trainer.units) == len(traces) and all(len(u) == 2 for u in trainer.units)
    stats = trainer.train_step()
    assert stats.units == 4 and stats.logprob < -50  # a proof's log p̂ sums both steps


def test_over_long_targets_are_skipped_and_take_their_proof_along(make_trace):
    trace = make_trace("x", [("⊢ a", "short"), ("⊢ b", "a much longer tactic text")])
    kwargs = dict(max_prompt_tokens=64, max_target_tokens=10)
    fmt, tok = get_format("sandbox"), new_tokenizer()
    assert len(encode_units([trace], tok, fmt, proof_level=False, **kwargs)) == 1
    assert encode_units([trace], tok, fmt, proof_level=True, **kwargs) == []


def test_checkpoint_layout_and_resume_match_an_uninterrupted_run(tiny_config, traces, tmp_path):
    straight = Trainer(dataclasses.replace(tiny_config, output_dir=str(tmp_path / "a")), traces=traces)
    straight.train()
    config = dataclasses.replace(tiny_config, output_dir=str(tmp_path / "b"), save_every=3, keep_checkpoints=1)
    Trainer(config, traces=traces).train()
    checkpoint = tmp_path / "b" / "checkpoints" / "step-000003"
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == ["step-000003"]
    recorded = read_prover_config(checkpoint)
    assert recorded["format"] == "sandbox" and recorded["step"] == 3 and recorded["train"]["seed"] == 3
    resumed = Trainer(dataclasses.replace(config, output_dir=str(tmp_path / "c")), traces=traces, resume_from=checkpoint)
    assert resumed.step == 3
    history = resumed.train()
    assert [s.step for s in history] == [4, 5, 6]
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    log = [json.loads(line) for line in (tmp_path / "a" / "train_log.jsonl").read_text().splitlines()]
    assert [row["loss"] for row in log[3:]] == pytest.approx([s.loss for s in history])
    proposer = load_proposer(tmp_path / "c")  # a finished run loads through the proposer loader
    assert proposer.format.name == "sandbox"


def test_resume_needs_a_checkpoint(tiny_config, traces, tmp_path):
    with pytest.raises(ConfigError, match="not a training checkpoint"):
        Trainer(tiny_config, traces=traces, resume_from=tmp_path)
