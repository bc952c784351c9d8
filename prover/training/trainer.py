"""``DCOTrainer``: ``transformers.Trainer`` training with CE, step-level or proof-level DCO.

Each micro-batch holds ``per_device_train_batch_size`` units (pairs, or whole proofs for
dco-proof). Under DCO a unit whose weight F is at or below the threshold is dropped and
replaced, so a batch keeps its size:

1. the batch's forward pass (with gradient) gives every unit's F; the kept units' loss is
   back-propagated at once, freeing that graph;
2. candidates from this process's refill stream are scored without gradient (no graph
   is kept), round after round, until the dropped places are filled or
   ``max_refill_rounds`` is spent;
3. the chosen candidates get one forward pass with gradient and their backward.

Activation memory is therefore that of one batch whatever the drop rate, and a step
with nothing dropped costs what a CE step costs. The loss of a micro-batch is the sum
of its kept units' weighted losses over the batch size (the mean when the batch fills;
places left empty count as zero); a step that kept no unit at all leaves the weights
as they are (no momentum or weight-decay update; under DeepSpeed, which steps inside
its backward, it does update). With several processes the refill runs in lock
step (every process makes the same passes, a process with nothing to score scoring a
stand-in unit), so sharded models (FSDP, ZeRO-3) and DDP's gradient sync stay in step.
Under FSDP and DeepSpeed the gradient sync waits for the micro-batch's last backward;
DDP arms its sync in the forward pass, so a refilled micro-batch syncs after each of its
two backward passes (the same gradients, since averaging is linear; one more all-reduce).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from accelerate.utils import DistributedType, gather_object
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from prover.config import ConfigError
from prover.models import EncodedPair, PromptFormat, encode_prompt, encode_target, get_format, write_prover_config
from prover.models.encoding import collate_pairs, target_logprobs
from prover.training.config import DCOConfig
from prover.training.data import ProofTrace
from prover.training.evaluation import sandbox_pass_at_k
from prover.training.losses import LossConfig, UnitLosses, unit_losses
from prover.training.stream import UnitStream
from search.seeds import derive_seed

__all__ = ["Unit", "UnitCollator", "DCOTrainer", "encode_units", "REFILL_STATE_FILE"]

Unit = tuple[EncodedPair, ...]
"""One training unit: a single (prompt, target) pair, or every step of a proof for dco-proof."""

REFILL_STATE_FILE = "refill_state.json"
"""Per-process refill stream positions, saved in each checkpoint."""

# Accumulated per log interval: sum of F and units scored, units kept (train) or
# evaluated (eval), the sum of their log p̂, the sum of their CE (eval) and micro-batches (train).
_WEIGHT, _SCORED, _COUNTED, _LOGPROB, _CE, _MICRO = range(6)


def encode_units(
    traces: Sequence[ProofTrace],
    tokenizer: PreTrainedTokenizerBase,
    fmt: PromptFormat,
    *,
    proof_level: bool,
    max_prompt_tokens: int,
    max_target_tokens: int,
) -> list[Unit]:
    """Token ids of each training unit: every step alone, or whole traces for proof-level DCO.

    A step whose target exceeds ``max_target_tokens`` is skipped, and so is its whole
    trace at proof level (a partial trace would misstate the proof's probability).
    """
    units: list[Unit] = []
    for trace in traces:
        pairs = [
            EncodedPair(
                tuple(encode_prompt(tokenizer, fmt, fmt.render(step.query), max_tokens=max_prompt_tokens)),
                tuple(encode_target(tokenizer, fmt, step.target)),
            )
            for step in trace.steps
        ]
        fits = [len(p.target) <= max_target_tokens for p in pairs]
        if proof_level:
            units.extend([tuple(pairs)] if pairs and all(fits) else [])
        else:
            units.extend((p,) for p, ok in zip(pairs, fits) if ok)
    return units


@dataclass(frozen=True)
class UnitCollator:
    """Batches units into padded teacher-forcing inputs, with ``unit_index`` (the unit of
    each row) and ``num_units``; the Trainer's data loader and the refill both use it."""

    fmt: PromptFormat
    pad_id: int

    def __call__(self, units: Sequence[Unit]) -> dict[str, Any]:
        batch: dict[str, Any] = collate_pairs([p for unit in units for p in unit], self.fmt, pad_id=self.pad_id, device="cpu")
        batch["unit_index"] = torch.tensor([n for n, unit in enumerate(units) for _ in unit])
        batch["num_units"] = len(units)
        return batch


class DCOTrainer(Trainer):
    """A ``transformers.Trainer`` whose loss is CE or DCO (``args.loss``) over encoded units,
    with the memory-bounded refill of dropped units (module docstring).

    Mean F, the dropped fraction, mean log p̂ (of kept units) and the units kept per
    optimizer step (all processes: the global batch when batches fill) join the Trainer's
    logs, so every ``report_to`` backend shows them. Checkpoints also hold
    ``prover_config.json`` and the refill streams, so a resumed run draws exactly the units
    the uninterrupted one would have.
    """

    args: DCOConfig

    def __init__(
        self,
        model: PreTrainedModel,
        args: DCOConfig,
        *,
        train_units: Sequence[Unit],
        eval_units: Sequence[Unit] | None = None,
        processing_class: PreTrainedTokenizerBase,
        callbacks: Sequence[TrainerCallback] = (),
    ):
        self.units = list(train_units)
        self.format = get_format(args.prompt_format)
        self.loss_config = args.loss
        super().__init__(
            model=model,
            args=args,
            data_collator=UnitCollator(self.format, processing_class.pad_token_id),
            train_dataset=self.units,
            eval_dataset=list(eval_units) if eval_units else None,
            processing_class=processing_class,
            callbacks=list(callbacks),
        )
        self._stats = {mode: torch.zeros(6, device=self.args.device) for mode in ("train", "eval")}
        self._refill_stream: UnitStream | None = None
        self._resumed_streams: list[dict[str, int]] | None = None
        self._proving_metrics: dict[str, float] = {}
        self._step_kept = 0

    # The training step and its refill.

    def training_step(self, model: torch.nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None) -> torch.Tensor:
        """Forward and backward of one micro-batch, refilling dropped units (see the module docstring)."""
        model.train()
        if callable(getattr(self.optimizer, "train", None)):  # schedule-free optimizers have train/eval modes
            self.optimizer.train()
        batch = self._prepare_inputs(inputs)
        size = batch.pop("num_units")
        scale = 1.0 / (size * self.current_gradient_accumulation_steps)
        with self.compute_loss_context_manager():
            first = self._unit_losses(model, batch, size)
        keep = self._keep(first.weight)
        self._record("train", first.weight, first.logprob[keep])
        self._stats["train"][_MICRO] += 1
        loss = torch.where(keep, first.loss, 0.0).sum() * scale
        missing = size - int(keep.sum())
        refill = self.loss_config.drops and self.args.max_refill_rounds > 0 and self._anyone(missing)
        self._backward(model, loss, last=not refill)
        self._step_kept += size - missing
        if refill:
            chosen = self._choose_refill(model, missing)
            extra = self._refill_loss(model, chosen, scale)
            self._backward(model, extra, last=True)
            self._step_kept += len(chosen)
            loss = loss + extra
        if self.loss_config.drops and self.accelerator.sync_gradients:  # the step's last micro-batch
            if not self._anyone(self._step_kept):
                model.zero_grad(set_to_none=True)  # nothing kept anywhere: the optimizer leaves the weights alone
            self._step_kept = 0
        return loss.detach()

    def _unit_losses(self, model: torch.nn.Module, batch: dict[str, Any], size: int) -> UnitLosses:
        logprobs, mask = target_logprobs(model, batch)
        return unit_losses(logprobs, mask, batch["unit_index"], num_units=size, config=self.loss_config)

    def _keep(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.loss_config.drops:
            return torch.ones_like(weight, dtype=torch.bool)
        return weight > self.loss_config.threshold

    def _anyone(self, count: int) -> bool:
        """Whether ``count`` is positive on any process (every process must ask together)."""
        if self.accelerator.num_processes == 1:
            return count > 0
        return bool(self.accelerator.gather(torch.tensor([count], device=self.args.device)).max() > 0)

    def _batch(self, indices: Sequence[int]) -> tuple[dict[str, Any], int]:
        batch = self._prepare_inputs(self.data_collator([self.units[i] for i in indices]))
        return batch, batch.pop("num_units")

    def _choose_refill(self, model: torch.nn.Module, missing: int) -> list[int]:
        """Candidates scored without gradient, round by round, that fill ``missing`` places."""
        stream = self._stream()
        chosen: list[int] = []
        for _ in range(self.args.max_refill_rounds):
            want = missing - len(chosen)
            if not self._anyone(want):
                break
            candidates = stream.take(want) if want else []
            batch, size = self._batch(candidates or [0])  # a stand-in keeps the processes in step
            with torch.no_grad(), self.compute_loss_context_manager():
                scored = self._unit_losses(model, batch, size)
            if candidates:
                keep = self._keep(scored.weight)
                self._record("train", scored.weight, None)
                chosen += [c for c, kept in zip(candidates, keep.tolist()) if kept]
        return chosen

    def _refill_loss(self, model: torch.nn.Module, chosen: list[int], scale: float) -> torch.Tensor:
        batch, size = self._batch(chosen or [0])
        with self.compute_loss_context_manager():
            result = self._unit_losses(model, batch, size)
        if not chosen:
            return result.loss.sum() * 0.0  # a stand-in backward keeps the processes in step
        self._record("train", None, result.logprob)
        return result.loss.sum() * scale

    def _backward(self, model: torch.nn.Module, loss: torch.Tensor, *, last: bool) -> None:
        """Back-propagate ``loss``; unless ``last``, deferring the gradient sync where the backend
        decides it at backward time (FSDP, DeepSpeed; see the module docstring for DDP)."""
        deepspeed = self.accelerator.distributed_type == DistributedType.DEEPSPEED
        kwargs = {"scale_wrt_gas": False} if deepspeed else {}
        with contextlib.ExitStack() as stack:
            if not last and self.accelerator.sync_gradients:
                stack.enter_context(self._deferred_sync(model, deepspeed))
            self.accelerator.backward(loss, **kwargs)

    @contextlib.contextmanager
    def _deferred_sync(self, model: torch.nn.Module, deepspeed: bool) -> Iterator[None]:
        if not deepspeed:
            with self.accelerator.no_sync(model):
                yield
            return
        state = self.accelerator.gradient_state
        state._set_sync_gradients(False)  # DeepSpeed: not an accumulation boundary, so no optimizer step
        try:
            yield
        finally:
            state._set_sync_gradients(True)

    def _stream(self) -> UnitStream:
        """This process's refill stream, seeded by (seed, process index) and restored on resume."""
        if self._refill_stream is None:
            rank = self.args.process_index
            self._refill_stream = UnitStream(len(self.units), derive_seed(self.args.seed, "refill", rank))
            if self._resumed_streams is not None:
                if len(self._resumed_streams) != self.args.world_size:
                    raise ConfigError(
                        f"checkpoint was written by {len(self._resumed_streams)} processes, this run has {self.args.world_size}"
                    )
                self._refill_stream.load_state_dict(self._resumed_streams[rank])
        return self._refill_stream

    # Metrics.

    def _record(self, mode: str, weight: torch.Tensor | None, logprob: torch.Tensor | None, ce: torch.Tensor | None = None) -> None:
        stats = self._stats[mode]
        if weight is not None:
            stats[_WEIGHT] += weight.detach().sum().to(stats.dtype)
            stats[_SCORED] += weight.numel()
        if logprob is not None:
            stats[_COUNTED] += logprob.numel()
            stats[_LOGPROB] += logprob.detach().sum().to(stats.dtype)
        if ce is not None:
            stats[_CE] += ce.detach().sum().to(stats.dtype)

    def _flush(self, mode: str) -> dict[str, float]:
        """The metrics accumulated since the last log, over all processes (called on every process)."""
        stats = self._stats[mode]
        if self.accelerator.num_processes > 1:
            stats = self.accelerator.reduce(stats, reduction="sum")
        weight, scored, counted, logprob, ce, micro = stats.tolist()
        self._stats[mode].zero_()
        if mode == "train":
            steps = micro / (self.args.world_size * self.args.gradient_accumulation_steps)
            return {"mean_F": weight / max(scored, 1), "drop_fraction": 1 - counted / max(scored, 1),
                    "mean_logprob": logprob / max(counted, 1), "kept_units": counted / max(steps, 1e-9)}
        return {"eval_mean_F": weight / max(scored, 1), "eval_mean_logprob": logprob / max(counted, 1),
                "eval_ce": ce / max(counted, 1)}

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the DCO metrics to a training or evaluation log, then log as the Trainer does."""
        if "loss" in logs:
            logs.update(self._flush("train"))
        elif "eval_loss" in logs:
            logs.update({**self._flush("eval"), **self._proving_metrics})
            self._proving_metrics = {}
        super().log(logs, start_time)

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        """The held-out loss, F, log p̂ and CE, and (``sandbox_eval_theorems > 0``, main process)
        the sandbox pass@1 and pass@k of the model as it is now."""
        if self.args.sandbox_eval_theorems and self.is_world_process_zero():
            self._proving_metrics = sandbox_pass_at_k(
                self.accelerator.unwrap_model(self.model), self.processing_class, self.format,
                theorems=self.args.sandbox_eval_theorems, attempts=self.args.sandbox_eval_attempts, seed=self.args.seed,
            )
        return super().evaluate(*args, **kwargs)

    def prediction_step(self, model: torch.nn.Module, inputs: dict[str, Any], prediction_loss_only: bool,
                        ignore_keys: list[str] | None = None) -> tuple[torch.Tensor, None, None]:
        """The evaluation loss of one batch (every unit counted, none dropped), with its F, log p̂ and CE."""
        batch = self._prepare_inputs(inputs)
        size = batch.pop("num_units")
        with torch.no_grad(), self.compute_loss_context_manager():
            logprobs, mask = target_logprobs(model, batch)
        result = unit_losses(logprobs, mask, batch["unit_index"], num_units=size, config=self.loss_config)
        ce = unit_losses(logprobs, mask, batch["unit_index"], num_units=size,
                         config=LossConfig(kind="ce", reduction=self.loss_config.reduction))
        self._record("eval", result.weight, result.logprob, ce.loss)
        return result.loss.mean().detach(), None, None

    # Saving and resuming.

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Save as the Trainer does (``from_pretrained`` layout), plus ``prover_config.json``."""
        super()._save(output_dir, state_dict=state_dict)
        if self.args.should_save:
            write_prover_config(output_dir or self.args.output_dir, {
                "format": self.format.name, "task": self.args.task, "step": self.state.global_step,
                "train": self.args.to_dict(),
            })

    def _save_checkpoint(self, model: torch.nn.Module, trial: Any) -> None:
        streams = gather_object([self._stream().state_dict()])
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = Path(self._get_output_dir(trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            (folder / REFILL_STATE_FILE).write_text(json.dumps(streams) + "\n", encoding="utf-8")

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any) -> Any:
        """Train as the Trainer does; on resume the refill streams continue where they stopped."""
        if resume_from_checkpoint is True:
            resume_from_checkpoint = get_last_checkpoint(self.args.output_dir)
            if resume_from_checkpoint is None:
                raise ConfigError(f"no checkpoint to resume from in {self.args.output_dir}")
        if resume_from_checkpoint:
            path = Path(resume_from_checkpoint) / REFILL_STATE_FILE
            self._resumed_streams = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            self._refill_stream = None
        return super().train(resume_from_checkpoint=resume_from_checkpoint or None, **kwargs)
