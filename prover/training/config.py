"""Training configuration: frozen sections read from TOML and overridden by flags.

A config file has top-level keys, then up to four tables (read by the same loader and
overridden with the same ``--set KEY=VALUE`` as the search commands)::

    batch_size = 32; max_steps = 2000; seed = 0; device = "cpu"; output_dir = "runs/models/x"
    [model]  path = "kaiyuy/leandojo-lean4-tacgen-byt5-small"  # or omit for from-scratch `size`
             format = "reprover"
    [data]   source = "sandbox:train"                            # or a LeanDojo .json / whole-proof .jsonl
    [loss]   kind = "dco-step"; n = 4; threshold = 0.1
    [optim]  lr = 3e-4; warmup_steps = 100; schedule = "cosine"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from prover.config import load_config
from prover.training.losses import LossConfig

__all__ = ["ModelSpec", "DataSpec", "OptimConfig", "TrainConfig", "PRESETS", "load_train_config"]

Schedule = Literal["cosine", "linear", "constant"]


@dataclass(frozen=True)
class ModelSpec:
    """The model to train: ``path`` (hub id or directory) to fine-tune, else a from-scratch
    model of shape ``size`` (see ``prover.models.SCRATCH_SIZES``); ``format`` is its prompt format."""

    path: str | None = None
    format: str = "sandbox"
    size: str = "small"


@dataclass(frozen=True)
class DataSpec:
    """Where examples come from and how long they may be (longer targets are skipped)."""

    source: str = "sandbox:train"
    max_prompt_tokens: int = 512
    max_target_tokens: int = 256


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warmup then a cosine, linear or constant schedule."""

    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 50
    schedule: Schedule = "cosine"
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "linear", "constant"):
            raise ValueError(f"schedule must be cosine, linear or constant, got {self.schedule!r}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``max_steps`` wins over ``epochs`` (counted in training units:
    steps for CE/dco-step, proofs for dco-proof); ``save_every`` 0 saves only at the end.
    ``threads`` sets torch's CPU threads (fewer than cores is faster on a busy machine)."""

    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    output_dir: str = "runs/models/model"
    batch_size: int = 32
    max_steps: int | None = None
    epochs: float = 1.0
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    save_every: int = 0
    keep_checkpoints: int = 2
    max_refill_rounds: int = 8

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (recorded in each checkpoint's ``prover_config.json``)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, TrainConfig] = {
    "sandbox-small": TrainConfig(
        model=ModelSpec(format="sandbox", size="small"),
        data=DataSpec(source="sandbox:train", max_prompt_tokens=320, max_target_tokens=128),
        optim=OptimConfig(lr=2e-3, warmup_steps=40, schedule="cosine"),
        output_dir="runs/models/sandbox-small",
        batch_size=32,
        max_steps=600,
        seed=0,
    ),
}


def load_train_config(path: str | Path | None = None, *, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML/YAML training config over ``base`` (defaults when ``None``) with the one
    config loader (``prover.config.load_config``)."""
    return load_config(path, base=base or TrainConfig())
