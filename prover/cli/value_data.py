"""``prover value-data``: labelled states for the value model from the proof graphs of
``prover bench --save-graphs`` runs, written as the JSONL that ``prover train --task value``
reads. ``--rollouts N`` labels open states by N rollouts of each run's own environment and
proposer (``prover train --data RUN`` takes the strong labels alone)."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.common import InputError, user_errors

__all__ = ["command"]


@click.command(name="value-data")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSONL of labelled states to write.")
@click.option("--rollouts", type=click.IntRange(min=0), default=0, show_default=True,
              help="Label up to --max-open open states per graph by this many rollouts each (0: leave them out).")
@click.option("--max-open", type=click.IntRange(min=0), default=8, show_default=True, help="Open states rolled out per graph.")
@click.option("--depth", type=click.IntRange(min=1), default=16, show_default=True, help="Tactics per rollout at most.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the open states' draw and the rollouts.")
@user_errors
def command(runs: tuple[Path, ...], out: Path, rollouts: int, max_open: int, depth: int, seed: int) -> None:
    """Label the states of saved search graphs (proof path 1, dead 0, open by rollouts)."""
    from prover.training.value import run_value_examples, write_value_examples

    examples, warnings = [], []
    for run in runs:
        examples += run_value_examples(run, rollouts=rollouts, depth=depth, max_open=max_open, seed=seed, warnings=warnings)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not examples:
        raise InputError(f"no labelled states in {', '.join(map(str, runs))}")
    try:
        write_value_examples(out, examples)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    counts = {source: sum(e.source == source for e in examples) for source in ("proof", "dead", "rollouts")}
    click.echo(f"{len(examples)} states ({', '.join(f'{n} {s}' for s, n in counts.items())}) -> {out}")
