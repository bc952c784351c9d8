"""``prover train``: train a tactic model with CE or the confidence-limited DCO loss."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from prover.cli.common import InputError, parse_assignment, set_option, user_errors

__all__ = ["command", "TRAIN_FLAGS"]

_LOSSES = ("ce", "dco-step", "dco-proof")
TRAIN_FLAGS: dict[str, str] = {
    "model_path": "model.path", "size": "model.size", "fmt": "model.format",
    "source": "data.source",
    "loss": "loss.kind", "n": "loss.n", "threshold": "loss.threshold",
    "lr": "optim.lr", "warmup_steps": "optim.warmup_steps", "schedule": "optim.schedule",
    **{name: name for name in ("batch_size", "max_steps", "epochs", "seed", "device", "threads", "output_dir", "save_every")},
}
"""Each training flag and the config key it sets (``--set KEY=VALUE`` reaches every other key)."""


def _training_length(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Note which of ``--max-steps``/``--epochs`` came last: click calls these callbacks in
    command-line order, and the later one sets the training length."""
    if value is not None:
        ctx.meta["train.length"] = param.name
    return value


@click.command(name="train")
@click.argument("config_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--preset", help="Start from a named preset (sandbox-small).")
@click.option("--model", "model_path", help="Hub id or directory to fine-tune (default: a from-scratch model).")
@click.option("--size", help="Shape of a from-scratch model (tiny, small, 100m).")
@click.option("--format", "fmt", help="Prompt format (sandbox, reprover, bfs-prover, internlm-stepprover, deepseek-prover-v1.5, ...).")
@click.option("--data", "source", help="sandbox:<split> (the dataset syntax of bench), a LeanDojo .json or a whole-proof .jsonl file.")
@click.option("--loss", type=click.Choice(_LOSSES), help="Training loss.")
@click.option("--n", "n", type=float, help="Training pass@N' of the DCO loss (separate from test-time N).")
@click.option("--threshold", type=float, help="Drop units whose DCO weight F is at or below this.")
@click.option("--lr", type=float, help="Peak AdamW learning rate.")
@click.option("--warmup-steps", type=int)
@click.option("--schedule", type=click.Choice(["cosine", "linear", "constant"]))
@click.option("--batch-size", type=int, help="Units per optimizer step (pairs, or proofs for dco-proof).")
@click.option("--max-steps", type=int, callback=_training_length,
              help="Optimizer steps to train for (of --max-steps and --epochs, the later one given wins).")
@click.option("--epochs", type=float, callback=_training_length,
              help="Passes over the data; replaces a preset's or config's max_steps (and an earlier --max-steps).")
@click.option("--seed", type=int)
@click.option("--device", help="cpu, cuda, cuda:1, ...")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch (default: torch's choice).")
@click.option("--output-dir", "-o", help="Where the model and checkpoints go.")
@click.option("--save-every", type=int, help="Checkpoint every this many steps (0: only at the end).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False), help="Resume from a checkpoint directory.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@set_option
@user_errors
def command(config_file: str | None, preset: str | None, resume: str | None, progress: bool,
            assignments: tuple[str, ...], **flags: object) -> None:
    """Train a tactic model; flags override CONFIG_FILE, which overrides --preset. Training
    length: of --max-steps and --epochs the later one given wins; given neither, max_steps
    wins over epochs as in TrainConfig."""
    from prover.config import override
    from prover.models import check_device
    from prover.training import PRESETS, TrainConfig, Trainer, load_train_config

    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    config = load_train_config(config_file, base=PRESETS[preset] if preset else TrainConfig())
    config = override(config, [(key, flags[flag]) for flag, key in TRAIN_FLAGS.items()])
    if click.get_current_context().meta.get("train.length") == "epochs":
        config = dataclasses.replace(config, max_steps=None)
    config = override(config, [parse_assignment(a, "--set") for a in assignments])
    check_device(config.device)
    started = time.perf_counter()
    trainer = Trainer(config, resume_from=resume)
    history = trainer.train(progress=progress)
    seconds = time.perf_counter() - started
    out = Path(config.output_dir)
    params = sum(p.numel() for p in trainer.model.parameters())
    size_mb = sum(f.stat().st_size for f in out.glob("*.safetensors")) / 1e6
    last = history[-1] if history else None
    click.echo(
        f"trained {trainer.step}/{trainer.total_steps} steps ({len(trainer.units)} units, loss {config.loss.kind}) "
        f"in {seconds:.1f}s; final loss {last.loss if last else float('nan'):.4f}; "
        f"{params / 1e6:.2f}M parameters, {size_mb:.1f} MB -> {out}"
    )
