"""The training loop: CE, step-level DCO and proof-level DCO as options of one loop.

Each optimizer step fills a batch of ``batch_size`` units (pairs, or whole proofs for
dco-proof). Under DCO, units whose weight F is at or below the threshold are dropped and
replaced from the data stream, so the effective batch size stays constant.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from prover.config import ConfigError
from prover.data.jsonl import DatasetError
from prover.models import (
    SCRATCH_SIZES,
    EncodedPair,
    ModelNotFound,
    PromptFormat,
    build_scratch_model,
    encode_prompt,
    encode_target,
    get_format,
    new_tokenizer,
    write_prover_config,
)
from prover.models.encoding import collate_pairs, target_logprobs
from prover.training.config import OptimConfig, TrainConfig
from prover.training.data import ProofTrace, load_training_data
from prover.training.losses import unit_losses
from prover.training.stream import UnitStream

__all__ = ["StepStats", "Trainer", "encode_units"]

STATE_FILE = "trainer_state.pt"
LOG_FILE = "train_log.jsonl"


@dataclass(frozen=True)
class StepStats:
    """What one optimizer step did: ``units`` kept (the effective batch size), their mean
    loss and mean log p̂, the mean weight F over every unit looked at and the fraction dropped."""

    step: int
    units: int
    loss: float
    mean_weight: float
    dropped: float
    logprob: float
    lr: float


def encode_units(
    traces: Sequence[ProofTrace],
    tokenizer: PreTrainedTokenizerBase,
    fmt: PromptFormat,
    *,
    proof_level: bool,
    max_prompt_tokens: int,
    max_target_tokens: int,
) -> list[tuple[EncodedPair, ...]]:
    """Token ids of each training unit: every step alone, or whole traces for proof-level DCO.

    A step whose target exceeds ``max_target_tokens`` is skipped, and so is its whole
    trace at proof level (a partial trace would misstate the proof's probability).
    """
    units: list[tuple[EncodedPair, ...]] = []
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


def _schedule(optim: OptimConfig, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < optim.warmup_steps:
            return (step + 1) / optim.warmup_steps
        if optim.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - optim.warmup_steps) / max(1, total_steps - optim.warmup_steps))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if optim.schedule == "cosine" else 1 - progress
        return optim.min_lr_ratio + (1 - optim.min_lr_ratio) * shape

    return factor


class Trainer:
    """Trains a tactic model per a ``TrainConfig`` (the config/trainer pairing of HF TRL).

    ``traces`` replaces loading ``config.data.source``; ``model``/``tokenizer`` replace
    building or loading ``config.model``. ``resume_from`` restores weights, optimizer,
    schedule, step, data position and RNG state from a checkpoint directory.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        traces: Sequence[ProofTrace] | None = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        resume_from: str | Path | None = None,
    ):
        self.config = config
        self.format = get_format(config.model.format)
        self.device = torch.device(config.device)
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        if resume_from is not None:
            if not (Path(resume_from) / STATE_FILE).is_file():
                raise ConfigError(f"{resume_from} is not a training checkpoint (no {STATE_FILE})")
            model, tokenizer = _load_pretrained(resume_from, self.format)
        elif model is None:
            model, tokenizer = self._initial_model()
        self.tokenizer = tokenizer or new_tokenizer()
        self.model = model.to(self.device).train()
        data = traces if traces is not None else load_training_data(config.data.source)
        self.units = encode_units(
            data,
            self.tokenizer,
            self.format,
            proof_level=config.loss.kind == "dco-proof",
            max_prompt_tokens=config.data.max_prompt_tokens,
            max_target_tokens=config.data.max_target_tokens,
        )
        if not self.units:
            raise DatasetError(f"no usable training examples in {config.data.source}")
        self.stream = UnitStream(len(self.units), config.seed)
        self.total_steps = config.max_steps or max(1, math.ceil(config.epochs * len(self.units) / config.batch_size))
        optim = config.optim
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _schedule(optim, self.total_steps))
        self.step = 0
        if resume_from is not None:
            self._load_state(Path(resume_from))

    def _initial_model(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        spec = self.config.model
        if spec.path is not None:
            return _load_pretrained(spec.path, self.format)
        if spec.size not in SCRATCH_SIZES:
            raise ConfigError(f"unknown model size {spec.size!r}; choose from {', '.join(SCRATCH_SIZES)}")
        tokenizer = new_tokenizer()
        return build_scratch_model(SCRATCH_SIZES[spec.size], self.format.architecture, tokenizer), tokenizer

    def train_step(self) -> StepStats:
        """One optimizer step over a full batch of kept units."""
        config = self.config
        kept: list[torch.Tensor] = []
        kept_logprob: list[torch.Tensor] = []
        weights: list[torch.Tensor] = []
        for _ in range(config.max_refill_rounds):
            need = config.batch_size - sum(len(k) for k in kept)
            if need == 0:
                break
            indices = self.stream.take(need)
            rows = [pair for i in indices for pair in self.units[i]]
            owner = torch.tensor([n for n, i in enumerate(indices) for _ in self.units[i]], device=self.device)
            batch = collate_pairs(rows, self.format, pad_id=self.tokenizer.pad_token_id, device=self.device)
            logprobs, mask = target_logprobs(self.model, batch)
            result = unit_losses(logprobs, mask, owner, num_units=len(indices), config=config.loss)
            keep = result.weight > config.loss.threshold if config.loss.drops else torch.ones_like(result.weight, dtype=torch.bool)
            kept.append(result.loss[keep])
            kept_logprob.append(result.logprob[keep])
            weights.append(result.weight)
        losses = torch.cat(kept)
        all_weights = torch.cat(weights)
        self.optimizer.zero_grad(set_to_none=True)
        if len(losses):
            losses.mean().backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.optim.grad_clip)
            self.optimizer.step()
        lr = self.scheduler.get_last_lr()[0]
        self.scheduler.step()
        self.step += 1
        return StepStats(
            step=self.step,
            units=len(losses),
            loss=float(losses.detach().mean()) if len(losses) else 0.0,
            mean_weight=float(all_weights.mean()),
            dropped=1.0 - len(losses) / len(all_weights),
            logprob=float(torch.cat(kept_logprob).mean()) if len(losses) else 0.0,
            lr=lr,
        )

    def train(self, *, progress: bool = False) -> list[StepStats]:
        """Run until ``total_steps``, checkpointing per ``save_every``, then save the final model
        to ``output_dir``. Returns the stats of the steps run here."""
        out = Path(self.config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        history: list[StepStats] = []
        with _progress(progress, self.total_steps, self.step) as advance, (out / LOG_FILE).open("a" if self.step else "w", buffering=1) as log:
            while self.step < self.total_steps:
                stats = self.train_step()
                history.append(stats)
                log.write(json.dumps(stats.__dict__) + "\n")
                advance(stats)
                if self.config.save_every and self.step % self.config.save_every == 0 and self.step < self.total_steps:
                    self.save(out / "checkpoints" / f"step-{self.step:06d}")
                    self._prune_checkpoints(out / "checkpoints")
        self.save(out)
        return history

    def save(self, directory: str | Path) -> Path:
        """Write a ``from_pretrained``-loadable model, its tokenizer, ``prover_config.json``
        and the trainer state needed to resume."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        hf_logging.disable_progress_bar()
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        write_prover_config(directory, {"format": self.format.name, "step": self.step, "train": self.config.to_dict()})
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "stream": self.stream.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "python_rng": random.getstate(),
        }
        torch.save(state, directory / STATE_FILE)
        return directory

    def _load_state(self, directory: Path) -> None:
        state = torch.load(directory / STATE_FILE, weights_only=False)
        self.step = state["step"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        try:
            self.stream.load_state_dict(state["stream"])
        except ValueError as exc:
            raise ConfigError(f"{directory}: {exc}") from None
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        random.setstate(state["python_rng"])

    def _prune_checkpoints(self, directory: Path) -> None:
        for old in sorted(directory.glob("step-*"))[: -self.config.keep_checkpoints]:
            shutil.rmtree(old)


def _load_pretrained(spec: str | Path, fmt: PromptFormat) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    auto = AutoModelForSeq2SeqLM if fmt.architecture == "seq2seq" else AutoModelForCausalLM
    try:
        return auto.from_pretrained(spec), AutoTokenizer.from_pretrained(spec)
    except OSError as exc:
        raise ModelNotFound(f"{spec}: cannot load a model to train ({str(exc).splitlines()[0]})") from None


class _progress:
    """A rich progress bar showing loss, mean F and the dropped fraction (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.enabled, self.total, self.done = enabled, total, done

    def __enter__(self) -> Callable[[StepStats], None]:
        if not self.enabled:
            return lambda stats: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.bar.__enter__()
        task = self.bar.add_task("train", total=self.total, completed=self.done, info="")

        def advance(stats: StepStats) -> None:
            info = f"loss {stats.loss:.3f}  F {stats.mean_weight:.3f}  dropped {stats.dropped:.0%}  lr {stats.lr:.1e}"
            self.bar.update(task, advance=1, info=info)

        return advance

    def __exit__(self, *exc_info: object) -> None:
        if self.enabled:
            self.bar.__exit__(*exc_info)
