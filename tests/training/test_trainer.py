"""DCOTrainer: learning, confidence limiting, refill and its memory, the features of the
HF stack (accumulation, checkpointing, precision, evaluation, logging), checkpoints and resume."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from prover.config import ConfigError
from prover.models import get_format, load_proposer, new_tokenizer, read_prover_config, score_pairs
from prover.training import LOG_FILE, REFILL_STATE_FILE, SavedTensorMeter, encode_units, train
from prover.training.config import CHECKPOINTING


def _mean_nll(trainer) -> float:
    pairs = [pair for unit in trainer.units for pair in unit]
    scores = score_pairs(trainer.model, trainer.format, pairs, pad_id=trainer.processing_class.pad_token_id)
    return -sum(lp for lp, _ in scores) / sum(n for _, n in scores)


def _train_logs(trainer) -> list[dict]:
    return [r for r in trainer.state.log_history if "loss" in r]


def test_a_few_steps_reduce_the_loss(tiny_config, traces, make_trainer):
    trainer = make_trainer(dataclasses.replace(tiny_config, max_steps=25), traces)
    before = _mean_nll(trainer)
    trainer.train()
    logs = _train_logs(trainer)
    assert len(logs) == 25 and all(r["kept_units"] == 4 and r["drop_fraction"] == 0 and r["mean_F"] == 1 for r in logs)
    assert _mean_nll(trainer) < 0.6 * before


def _memorised_probability(config, make_trainer, make_trace, **loss) -> float:
    memorise = [make_trace("m", [("⊢ a ∧ b", "constructor")])]
    config = dataclasses.replace(config, max_steps=100, per_device_train_batch_size=1, logging_steps=50, **loss)
    trainer = make_trainer(config, memorise)
    trainer.train()
    ((logprob, _),) = score_pairs(trainer.model, trainer.format, list(trainer.units[0]), pad_id=0)
    return math.exp(logprob)


def test_confidence_saturates_under_ce_but_stays_bounded_under_dco(tiny_config, make_trainer, make_trace):
    assert _memorised_probability(tiny_config, make_trainer, make_trace, loss_type="ce") > 0.95
    # F(256, p) is about 0.1 at p = 0.015: the example is dropped from then on ...
    assert _memorised_probability(tiny_config, make_trainer, make_trace, loss_type="dco-step", dco_n=256.0) < 0.05
    # ... and even without dropping its vanishing weight stops the confidence growing.
    bounded = _memorised_probability(tiny_config, make_trainer, make_trace, loss_type="dco-step", dco_n=256.0, dco_threshold=0.0)
    assert bounded < 0.15


def test_dropped_units_are_refilled_to_keep_the_batch_size(tiny_config, short_and_long, make_trainer):
    config = dataclasses.replace(tiny_config, per_device_train_batch_size=5, max_steps=8, learning_rate=0.0,
                                 loss_type="dco-step", dco_n=math.exp(60))
    trainer = make_trainer(config, short_and_long)
    trainer.train()
    logs = _train_logs(trainer)
    assert all(r["kept_units"] == 5 for r in logs)
    assert 0.2 < sum(r["drop_fraction"] for r in logs) / len(logs) < 0.8
    assert all(r["mean_logprob"] < -100 for r in logs)  # only long targets were kept
    assert trainer._stream().units_seen > 0


def test_refill_gives_up_when_everything_is_dropped(tiny_config, traces, make_trainer):
    config = dataclasses.replace(tiny_config, max_steps=2, max_refill_rounds=3, loss_type="dco-step", dco_n=1e300)
    trainer = make_trainer(config, traces)
    trainer.train()
    assert all(r["kept_units"] == 0 and r["drop_fraction"] == 1.0 for r in _train_logs(trainer))
    assert trainer._stream().units_seen == 2 * 3 * 4  # steps × refill rounds × batch


def test_refill_keeps_no_graph_so_memory_does_not_grow_with_the_drop_rate(tiny_config, make_trainer, make_trace):
    """Nine short targets to one long: DCO at N' = e^60 drops about 90% of what it scores
    and refills; the activations held for backward peak no higher than under CE, which
    drops nothing (the old loop held every refill round's graph: several times more)."""
    data = [make_trace(f"s{i}", [(f"⊢ s{i}", "x")]) for i in range(90)]
    data += [make_trace(f"l{i}", [(f"⊢ l{i}", "exact (And.intro hp hq) -- a long tactic")]) for i in range(10)]
    peaks, drops = {}, {}
    for loss in ("ce", "dco-step"):
        config = dataclasses.replace(tiny_config, per_device_train_batch_size=8, max_steps=4, learning_rate=0.0,
                                     loss_type=loss, dco_n=math.exp(60), max_refill_rounds=200, logging_steps=4)
        trainer = make_trainer(config, data)
        with SavedTensorMeter() as meter:
            trainer.train()
        (log,) = _train_logs(trainer)
        peaks[loss], drops[loss] = meter.peak, log["drop_fraction"]
        assert log["kept_units"] == 8
    assert drops["ce"] == 0 and drops["dco-step"] > 0.8
    assert peaks["dco-step"] <= 1.25 * peaks["ce"]


def test_proof_level_units_are_whole_traces(tiny_config, traces, make_trainer):
    trainer = make_trainer(dataclasses.replace(tiny_config, max_steps=1, loss_type="dco-proof", dco_n=4.0), traces)
    assert len(trainer.units) == len(traces) and all(len(u) == 2 for u in trainer.units)
    trainer.train()
    (log,) = _train_logs(trainer)
    assert log["kept_units"] == 4 and log["mean_logprob"] < -50  # a proof's log p̂ sums both steps


def test_over_long_targets_are_skipped_and_take_their_proof_along(make_trace):
    trace = make_trace("x", [("⊢ a", "short"), ("⊢ b", "a much longer tactic text")])
    kwargs = dict(max_prompt_tokens=64, max_target_tokens=10)
    fmt, tok = get_format("sandbox"), new_tokenizer()
    assert len(encode_units([trace], tok, fmt, proof_level=False, **kwargs)) == 1
    assert encode_units([trace], tok, fmt, proof_level=True, **kwargs) == []


def test_gradient_accumulation_matches_one_bigger_batch(tiny_config, traces, make_trainer):
    big = make_trainer(dataclasses.replace(tiny_config, per_device_train_batch_size=8, max_steps=4), traces)
    big.train()
    accumulated = make_trainer(dataclasses.replace(tiny_config, gradient_accumulation_steps=2, max_steps=4), traces)
    accumulated.train()
    assert [r["loss"] for r in _train_logs(accumulated)] == pytest.approx([r["loss"] for r in _train_logs(big)], rel=1e-5)
    assert all(r["kept_units"] == 8 for r in _train_logs(accumulated))
    for name, tensor in big.model.state_dict().items():
        assert torch.allclose(tensor, accumulated.model.state_dict()[name], atol=1e-5), name


def test_gradient_checkpointing_trains_the_same(tiny_config, traces, make_trainer):
    plain = make_trainer(dataclasses.replace(tiny_config, max_steps=3), traces)
    plain.train()
    checkpointed = make_trainer(dataclasses.replace(tiny_config, max_steps=3, **{CHECKPOINTING: True}), traces)
    checkpointed.train()
    assert getattr(checkpointed.model, f"is_{CHECKPOINTING}")
    assert [r["loss"] for r in _train_logs(checkpointed)] == pytest.approx([r["loss"] for r in _train_logs(plain)], rel=1e-5)


def test_bf16_mixed_precision_trains_on_the_cpu(tiny_config, traces, make_trainer):
    trainer = make_trainer(dataclasses.replace(tiny_config, max_steps=3, bf16=True), traces)
    assert trainer.accelerator.mixed_precision == "bf16"
    trainer.train()
    assert all(math.isfinite(r["loss"]) for r in _train_logs(trainer))
    assert next(trainer.model.parameters()).dtype == torch.float32  # master weights stay fp32


class _Recorder(TrainerCallback):
    """What a logging backend (``report_to``) receives: every ``on_log`` record."""

    def __init__(self):
        self.logs: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append(dict(logs))


def test_dco_metrics_and_evaluation_reach_the_logging_backends(tiny_config, short_and_long, traces, tmp_path):
    """Training logs carry mean F, the dropped fraction, mean log p̂ and the kept units;
    evaluation on held-out data its loss, F, log p̂, CE and (optionally) sandbox pass@k.
    TensorBoard (a real ``report_to`` backend) writes the same scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recorder = _Recorder()
    config = dataclasses.replace(
        tiny_config, max_steps=4, logging_steps=2, eval_steps=2, eval_data="held-out", loss_type="dco-step",
        dco_n=math.exp(60), report_to="tensorboard",
        sandbox_eval_theorems=2, sandbox_eval_attempts=2,
    )
    result = train(config, traces=short_and_long, eval_traces=traces[:3], callbacks=[recorder])
    training = [r for r in recorder.logs if "loss" in r]
    evaluations = [r for r in recorder.logs if "eval_loss" in r]
    assert len(training) == 2 and len(evaluations) == 2
    for record in training:
        assert {"mean_F", "drop_fraction", "mean_logprob", "kept_units"} <= set(record)
        assert 0 < record["drop_fraction"] < 1 and record["mean_F"] < 1
    for record in evaluations:
        assert {"eval_mean_F", "eval_mean_logprob", "eval_ce", "eval_sandbox_pass@1", "eval_sandbox_pass@2"} <= set(record)
        assert 0 <= record["eval_sandbox_pass@1"] <= record["eval_sandbox_pass@2"] <= 1
    assert result.metrics["eval_ce"] == evaluations[-1]["eval_ce"] and result.metrics["train_loss"] > 0
    logged = [json.loads(line) for line in (result.output_dir / LOG_FILE).read_text().splitlines()]
    assert [r for r in logged if "loss" in r] == [{**r, "step": s} for r, s in zip(training, (2, 4))]
    (run_dir,) = (result.output_dir / "runs").iterdir()  # the TensorBoard callback's default place
    events = EventAccumulator(str(run_dir)).Reload()
    assert {"train/mean_F", "train/drop_fraction", "train/mean_logprob", "eval/ce"} <= set(events.Tags()["scalars"])


def test_checkpoints_load_anywhere_and_resume_matches_an_uninterrupted_run(tiny_config, short_and_long, tmp_path):
    """DCO with drops, so the refill stream must resume too: weights, losses and the
    stream's position equal the uninterrupted run's."""
    config = dataclasses.replace(tiny_config, loss_type="dco-step", dco_n=math.exp(60), save_strategy="steps",
                                 save_steps=3, save_total_limit=2)
    straight = train(dataclasses.replace(config, output_dir=str(tmp_path / "a")), traces=short_and_long)
    checkpoint = tmp_path / "a" / "checkpoint-3"
    assert sorted(p.name for p in (tmp_path / "a").glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    recorded = read_prover_config(checkpoint)
    assert recorded["format"] == "sandbox" and recorded["step"] == 3 and recorded["train"]["seed"] == 3
    assert recorded["train"]["loss_type"] == "dco-step"
    assert AutoModelForCausalLM.from_pretrained(checkpoint).num_parameters() == straight.parameters
    assert load_proposer(checkpoint).format.name == "sandbox"

    resumed = train(dataclasses.replace(config, output_dir=str(tmp_path / "b")), traces=short_and_long,
                    resume_from_checkpoint=checkpoint)
    assert resumed.global_step == 6

    def losses(result):
        return [(r["step"], r["loss"]) for r in result.log_history if "loss" in r and r["step"] > 3]

    assert losses(resumed) == losses(straight) and len(losses(straight)) == 3
    final_a = AutoModelForCausalLM.from_pretrained(tmp_path / "a").state_dict()
    final_b = AutoModelForCausalLM.from_pretrained(tmp_path / "b").state_dict()
    assert all(torch.equal(tensor, final_b[name]) for name, tensor in final_a.items())
    stream = json.loads((tmp_path / "a" / "checkpoint-6" / REFILL_STATE_FILE).read_text())
    assert stream == json.loads((tmp_path / "b" / "checkpoint-6" / REFILL_STATE_FILE).read_text())
    assert stream[0]["position"] > 0 or stream[0]["epoch"] > 0
    assert load_proposer(tmp_path / "b").format.name == "sandbox"


def test_save_total_limit_keeps_the_newest_checkpoints(tiny_config, traces):
    config = dataclasses.replace(tiny_config, save_strategy="steps", save_steps=2, save_total_limit=1)
    out = train(config, traces=traces).output_dir
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-6"]
    assert (out / "model.safetensors").is_file() and (out / "trainer_state.json").is_file()


def test_one_process_is_reproducible_bit_for_bit(tiny_config, short_and_long, tmp_path):
    config = dataclasses.replace(tiny_config, loss_type="dco-step", dco_n=math.exp(60))
    runs = [train(dataclasses.replace(config, output_dir=str(tmp_path / name)), traces=short_and_long) for name in "ab"]
    first, second = (AutoModelForCausalLM.from_pretrained(r.output_dir).state_dict() for r in runs)
    assert all(torch.equal(tensor, second[name]) for name, tensor in first.items())
    assert [r["loss"] for r in runs[0].log_history if "loss" in r] == [r["loss"] for r in runs[1].log_history if "loss" in r]


def test_resume_needs_a_checkpoint(tiny_config, traces, tmp_path):
    with pytest.raises(ConfigError, match="not a training checkpoint"):
        train(tiny_config, traces=traces, resume_from_checkpoint=tmp_path)
