"""Training tactic models with cross-entropy or the confidence-limited DCO loss."""

from prover.training.config import PRESETS, DataSpec, ModelSpec, OptimConfig, TrainConfig, load_train_config
from prover.training.data import (
    ProofTrace,
    StepExample,
    TestSplitRefused,
    load_leandojo,
    load_training_data,
    load_whole_proofs,
    sandbox_traces,
    trace_from_records,
)
from prover.training.losses import LossConfig, UnitLosses, dco_weight, unit_losses
from prover.training.stream import UnitStream
from prover.training.trainer import StepStats, Trainer, encode_units

__all__ = [
    "DataSpec",
    "LossConfig",
    "ModelSpec",
    "OptimConfig",
    "PRESETS",
    "ProofTrace",
    "StepExample",
    "StepStats",
    "TestSplitRefused",
    "TrainConfig",
    "Trainer",
    "UnitLosses",
    "UnitStream",
    "dco_weight",
    "encode_units",
    "load_leandojo",
    "load_train_config",
    "load_training_data",
    "load_whole_proofs",
    "sandbox_traces",
    "trace_from_records",
    "unit_losses",
]
