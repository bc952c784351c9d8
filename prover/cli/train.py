"""``prover train``: train a tactic model with CE or the confidence-limited DCO loss."""

from __future__ import annotations

import time

import click

from prover.cli.common import parse_assignment, set_option, user_errors

__all__ = ["command", "TRAIN_FLAGS"]

_LOSSES = ("ce", "dco-step", "dco-proof")
TRAIN_FLAGS: dict[str, str] = {
    "model_path": "model_name_or_path", "size": "model_size", "fmt": "prompt_format", "task": "task",
    "source": "train_data", "eval_data": "eval_data",
    "loss": "loss_type", "n": "dco_n", "threshold": "dco_threshold",
    "lr": "learning_rate", "warmup_steps": "warmup_steps", "schedule": "lr_scheduler_type",
    "batch_size": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
    "epochs": "num_train_epochs", "device": "device_type", "gradient_checkpointing": "activation_checkpointing",
    **{name: name for name in ("max_steps", "seed", "threads", "output_dir", "save_steps", "save_total_limit",
                               "eval_steps", "logging_steps", "report_to", "bf16", "fp16", "lora_r")},
}
"""Each training flag and the config key it sets (``--set KEY=VALUE`` reaches every other key)."""

_EPILOG = """\b
Config reference: configs/README.md lists every DCO key; every other key is a
transformers.TrainingArguments field (huggingface.co/docs/transformers/main_classes/trainer).
Precedence: --preset file < CONFIG_FILE < flags < --set. Length: of --max-steps and
--epochs the later one given wins (--max-steps -1 means epochs); within a config file
max_steps > 0 wins over num_train_epochs (transformers' rule).
Several processes: accelerate launch [--config_file configs/accelerate/...] -m prover.cli train ...
"""


def _training_length(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Note which of ``--max-steps``/``--epochs`` came last: click calls these callbacks in
    command-line order, and the later one sets the training length."""
    if value is not None:
        ctx.meta["train.length"] = param.name
    return value


@click.command(name="train", epilog=_EPILOG)
@click.argument("config_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--preset", help="Start from a preset's config file (sandbox-small: configs/sandbox-small.toml).")
@click.option("--model", "model_path", help="Hub id or directory to fine-tune (default: a from-scratch model).")
@click.option("--size", help="Shape of a from-scratch model (tiny, small, 100m).")
@click.option("--format", "fmt", help="Prompt format (sandbox, reprover, bfs-prover, internlm-stepprover, deepseek-prover-v1.5, ...).")
@click.option("--task", help="Training task: tactic, or value (a state-value classifier; --data a JSONL of labelled "
                               "states, a 'prover bench --save-graphs' run directory, or sandbox:<split>, searched "
                               "and labelled first).")
@click.option("--data", "source", help="sandbox:<split> (the dataset syntax of bench), a LeanDojo .json or a whole-proof .jsonl file.")
@click.option("--eval-data", help="Held-out data (same syntax) evaluated every --eval-steps; turns evaluation on.")
@click.option("--loss", type=click.Choice(_LOSSES), help="Training loss.")
@click.option("--n", "n", type=float, help="Training pass@N' of the DCO loss (separate from test-time N).")
@click.option("--threshold", type=float, help="Drop (and refill) units whose DCO weight F is at or below this.")
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--warmup-steps", type=float, help="Warmup steps (a fraction < 1 of all steps also works).")
@click.option("--schedule", help="Learning-rate schedule (transformers' lr_scheduler_type: cosine, linear, constant_with_warmup, ...).")
@click.option("--batch-size", type=int, help="Units per process per micro-step (pairs, or proofs for dco-proof).")
@click.option("--grad-accum", type=int, help="Micro-steps per optimizer step (gradient accumulation).")
@click.option("--max-steps", type=int, callback=_training_length,
              help="Optimizer steps to train for (of --max-steps and --epochs, the later one given wins; -1: epochs).")
@click.option("--epochs", type=float, callback=_training_length,
              help="Passes over the training units; replaces a preset's or config's max_steps (and an earlier --max-steps).")
@click.option("--seed", type=int)
@click.option("--device", help="auto (CUDA when available), cpu or cuda.")
@click.option("--threads", type=int, help="CPU threads for torch per process (default: torch's choice).")
@click.option("--bf16/--no-bf16", default=None, help="bfloat16 mixed precision (CUDA with bf16 support, or CPU).")
@click.option("--fp16/--no-fp16", default=None, help="float16 mixed precision (CUDA only).")
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None, help="Recompute activations in the backward pass.")
@click.option("--lora-r", type=int, help="Train LoRA adapters of this rank (needs the 'lora' extra); 0 trains every weight.")
@click.option("--output-dir", "-o", help="Where the model and checkpoints go.")
@click.option("--save-steps", type=float, help="Checkpoint every this many steps.")
@click.option("--save-total-limit", type=int, help="Keep at most this many checkpoints.")
@click.option("--eval-steps", type=float, help="Evaluate every this many steps (default: --logging-steps).")
@click.option("--logging-steps", type=float, help="Log every this many steps.")
@click.option("--report-to", help="Logging backend: none, tensorboard, wandb, ... (transformers' report_to).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False), help="Resume from a checkpoint directory (OUTPUT/checkpoint-N).")
@click.option("--progress/--no-progress", default=True, help="Show the progress bar and log lines.")
@set_option
@user_errors
def command(config_file: str | None, preset: str | None, resume: str | None, progress: bool,
            assignments: tuple[str, ...], **flags: object) -> None:
    """Train a tactic model; flags override CONFIG_FILE, which overrides --preset. Training
    length: of --max-steps and --epochs the later one given wins; given neither, max_steps
    > 0 wins over num_train_epochs as in transformers."""
    from accelerate import PartialState

    from prover.config import override
    from prover.training import load_train_config, train
    from prover.training.config import canonical_key, without_schedule_kwargs

    config = load_train_config(config_file, preset=preset)
    if flags["schedule"] is not None:
        config = without_schedule_kwargs(config)
    config = override(config, [(key, flags[flag]) for flag, key in TRAIN_FLAGS.items()], rename=canonical_key)
    if click.get_current_context().meta.get("train.length") == "epochs":
        config = override(config, [("max_steps", -1)])  # transformers' "no step limit: train the epochs"
    config = override(config, [parse_assignment(a, "--set") for a in assignments], rename=canonical_key)
    started = time.perf_counter()
    result = train(config, resume_from_checkpoint=resume, progress=progress)
    # Under `accelerate launch`: leave the process group before exiting, or gloo's threads
    # can still be running at interpreter exit ("terminate called without an active exception").
    PartialState().destroy_process_group()
    if config.process_index != 0:
        return
    seconds = time.perf_counter() - started
    losses = [r["loss"] for r in result.log_history if "loss" in r]
    size_mb = sum(f.stat().st_size for f in result.output_dir.glob("*.safetensors")) / 1e6
    click.echo(
        f"trained {result.global_step}/{result.max_steps} steps "
        f"({result.units} units, loss {config.loss_type}, {config.world_size} process(es)) in {seconds:.1f}s; "
        f"final loss {losses[-1] if losses else result.metrics.get('train_loss', float('nan')):.4f}; {result.parameters / 1e6:.2f}M parameters "
        f"({result.trainable_parameters / 1e6:.2f}M trained), {size_mb:.1f} MB -> {result.output_dir}"
    )
