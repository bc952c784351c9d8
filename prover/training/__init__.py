"""Training tactic models on the Hugging Face stack with cross-entropy or the DCO loss.

``DCOConfig`` (a ``transformers.TrainingArguments``) and ``DCOTrainer`` (a
``transformers.Trainer``) in the style of TRL; ``train(config)`` runs one from Python and
returns a ``TrainResult``; ``losses`` holds the math.
"""

from prover.training.config import CONFIGS_DIR, DCO_FIELDS, PRESETS, DCOConfig, load_train_config, preset_path
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
from prover.training.memory import SavedTensorMeter
from prover.training.run import LOG_FILE, TASKS, JsonlLog, TaskFactory, TrainResult, build_model, tactic_trainer, train
from prover.training.stream import UnitStream
from prover.training.trainer import REFILL_STATE_FILE, DCOTrainer, Unit, UnitCollator, encode_units

__all__ = [
    "CONFIGS_DIR",
    "DCO_FIELDS",
    "DCOConfig",
    "DCOTrainer",
    "JsonlLog",
    "LOG_FILE",
    "LossConfig",
    "PRESETS",
    "ProofTrace",
    "REFILL_STATE_FILE",
    "SavedTensorMeter",
    "StepExample",
    "TASKS",
    "TaskFactory",
    "TestSplitRefused",
    "TrainResult",
    "Unit",
    "UnitCollator",
    "UnitLosses",
    "UnitStream",
    "build_model",
    "dco_weight",
    "encode_units",
    "load_leandojo",
    "load_train_config",
    "load_training_data",
    "load_whole_proofs",
    "preset_path",
    "sandbox_traces",
    "tactic_trainer",
    "train",
    "trace_from_records",
    "unit_losses",
]
