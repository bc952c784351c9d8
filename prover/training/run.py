"""Training from a config, from Python or the CLI: ``train(config) -> TrainResult``.

``train`` builds (or takes) the model and tokenizer, hands them with the data to the
config's task, runs the Trainer (single process, or one process per device under
``accelerate launch``), saves the final model in ``output_dir`` and returns where it is
with the run's metrics. A task is a function in ``TASKS`` that returns a
``transformers.Trainer``; ``tactic`` (the DCO trainer) and ``value`` (a state-value
classifier, ``prover.training.value``) are built in.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    set_seed,
)
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.utils import logging as hf_logging

from prover.config import ConfigError
from prover.data.jsonl import DatasetError
from prover.models import SCRATCH_SIZES, ModelNotFound, build_scratch_model, get_format, new_tokenizer
from prover.training.config import CHECKPOINTING, DCOConfig
from prover.training.data import ProofTrace, load_training_data
from prover.training.trainer import DCOTrainer, encode_units
from prover.training.value import value_model, value_task

__all__ = ["LOG_FILE", "TASKS", "TaskFactory", "TrainResult", "JsonlLog", "build_model", "tactic_trainer", "train"]

LOG_FILE = "train_log.jsonl"
"""Every log record of a run (training and evaluation), one JSON object a line, written as it happens."""

TaskFactory = Callable[..., Trainer]
"""``factory(config, *, model, tokenizer, traces, eval_traces, callbacks) -> Trainer``."""


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: the final model's directory, the optimizer steps
    taken in all and planned, the Trainer's final metrics (``train_loss``, ``train_runtime``, ... and
    the last ``eval_*``), every log record, and the model's parameter counts."""

    output_dir: Path
    global_step: int
    max_steps: int
    metrics: Mapping[str, float]
    log_history: tuple[Mapping[str, Any], ...]
    parameters: int
    trainable_parameters: int
    units: int


class JsonlLog(TrainerCallback):
    """Appends each log record to ``output_dir/train_log.jsonl`` (main process only), so a
    run's curves survive a crash and need no logging backend."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero and state.global_step == 0:  # a fresh run (a resumed one appends)
            (Path(args.output_dir) / LOG_FILE).unlink(missing_ok=True)

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            with (Path(args.output_dir) / LOG_FILE).open("a", encoding="utf-8") as out:
                out.write(json.dumps({**logs, "step": state.global_step}) + "\n")


def _load_pretrained(config: DCOConfig, architecture: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    auto = AutoModelForSeq2SeqLM if architecture == "seq2seq" else AutoModelForCausalLM
    kwargs: dict[str, Any] = {}
    if config.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if config.bf16 else torch.float16,
        )
    spec = config.model_name_or_path
    try:
        hf_logging.disable_progress_bar()
        model = auto.from_pretrained(spec, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(spec)
    except (OSError, ValueError) as exc:  # ValueError: a directory without a model's config.json
        raise ModelNotFound(f"{spec}: cannot load a model to train ({str(exc).splitlines()[0]})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _with_lora(model: PreTrainedModel, config: DCOConfig, architecture: str) -> PreTrainedModel:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if config.model_name_or_path is None:
        raise ConfigError("LoRA adapts a pretrained model: set model_name_or_path")
    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=bool(getattr(config, CHECKPOINTING)))
    elif getattr(config, CHECKPOINTING):
        model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
    targets = config.lora_target_modules
    lora = LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()],
        task_type="SEQ_2_SEQ_LM" if architecture == "seq2seq" else "CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def build_model(config: DCOConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model and tokenizer ``config`` names: ``model_name_or_path`` loaded (4-bit for
    QLoRA), or a from-scratch ``model_size`` model seeded by ``config.seed``; with LoRA
    adapters when ``lora_r > 0``. The ``value`` task gets a one-logit classifier instead
    (``prover.training.value.value_model``)."""
    if config.task == "value":
        if config.lora_r or config.load_in_4bit:
            raise ConfigError("the value task trains every weight of its classifier: LoRA / 4-bit are not supported for it")
        return value_model(config)
    architecture = get_format(config.prompt_format).architecture
    if config.load_in_4bit and not config.lora_r:
        raise ConfigError("load_in_4bit trains LoRA adapters on a 4-bit model: set lora_r > 0")
    if config.model_name_or_path is not None:
        model, tokenizer = _load_pretrained(config, architecture)
    else:
        set_seed(config.seed)
        tokenizer = new_tokenizer()
        model = build_scratch_model(SCRATCH_SIZES[config.model_size], architecture, tokenizer)
    return (_with_lora(model, config, architecture) if config.lora_r else model), tokenizer


def tactic_trainer(
    config: DCOConfig,
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    traces: Sequence[ProofTrace] | None,
    eval_traces: Sequence[ProofTrace] | None,
    callbacks: Sequence[TrainerCallback],
) -> DCOTrainer:
    """The ``tactic`` task: a ``DCOTrainer`` over the encoded units of ``traces`` (default:
    ``config.train_data``) and ``eval_traces`` (default: ``config.eval_data``)."""
    fmt = get_format(config.prompt_format)
    if traces is None:
        traces = load_training_data(config.train_data)
    if eval_traces is None and config.eval_data is not None:
        eval_traces = load_training_data(config.eval_data)

    def encode(data: Sequence[ProofTrace]) -> list:
        return encode_units(data, tokenizer, fmt, proof_level=config.loss_type == "dco-proof",
                            max_prompt_tokens=config.max_prompt_tokens, max_target_tokens=config.max_target_tokens)

    units = encode(traces)
    if not units:
        raise DatasetError(f"no usable training examples in {config.train_data}")
    return DCOTrainer(model, config, train_units=units, eval_units=encode(eval_traces) if eval_traces else None,
                      processing_class=tokenizer, callbacks=callbacks)


TASKS: dict[str, TaskFactory] = {"tactic": tactic_trainer, "value": value_task}
"""Training tasks by name (``DCOConfig.task``); register a factory here to add one."""


def _writable(directory: str) -> None:
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):  # a name of its own: every rank probes at once
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to output directory {directory}: {exc.strerror or exc}") from None


def _checkpoint(path: str | Path | None) -> str | None:
    if path is None:
        return None
    if not (Path(path) / TRAINER_STATE_NAME).is_file():
        raise ConfigError(f"{path} is not a training checkpoint (no {TRAINER_STATE_NAME})")
    return str(path)


def train(
    config: DCOConfig,
    *,
    traces: Sequence[ProofTrace] | None = None,
    eval_traces: Sequence[ProofTrace] | None = None,
    model: PreTrainedModel | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    resume_from_checkpoint: str | Path | None = None,
    callbacks: Sequence[TrainerCallback] = (),
    progress: bool = False,
) -> TrainResult:
    """Train per ``config`` and save the final model (``from_pretrained`` layout plus
    ``prover_config.json``; LoRA runs save the merged model there and the adapter in
    ``adapter/``). ``traces``/``model`` replace loading them from the config; ``progress``
    shows the Trainer's progress bar and log lines."""
    if config.task not in TASKS:
        raise ConfigError(f"unknown task {config.task!r}; choose from {', '.join(TASKS)}")
    if config.eval_strategy != "no" and config.eval_data is None and eval_traces is None:
        raise ConfigError(f"eval_strategy {config.eval_strategy.value} needs eval_data (held-out data to evaluate)")
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    _writable(config.output_dir)
    resume = _checkpoint(resume_from_checkpoint)
    if model is None:
        model, tokenizer = build_model(config)
    elif tokenizer is None:
        raise ConfigError("a model given without its tokenizer")
    trainer = TASKS[config.task](config, model=model, tokenizer=tokenizer, traces=traces, eval_traces=eval_traces,
                                 callbacks=[JsonlLog(), *callbacks])
    hf_logging.disable_progress_bar()  # per-file bars of save_pretrained; the Trainer's own bar follows `progress`
    if not progress:
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    parameters = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    output = trainer.train(resume_from_checkpoint=resume)
    out = Path(config.output_dir)
    if config.lora_r and not config.load_in_4bit:
        trainer.save_model(str(out / "adapter"))
        trainer.model = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
    trainer.save_model(str(out))
    trainer.save_state()
    evaluations = [record for record in trainer.state.log_history if "eval_loss" in record]
    metrics = {**{k: v for k, v in (evaluations[-1] if evaluations else {}).items() if k.startswith("eval_")}, **output.metrics}
    return TrainResult(
        output_dir=out, global_step=output.global_step, max_steps=trainer.state.max_steps, metrics=metrics,
        log_history=tuple(trainer.state.log_history), parameters=parameters, trainable_parameters=trainable,
        units=len(trainer.train_dataset),
    )
