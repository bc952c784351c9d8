"""``prover calibrate``: measure a grid of strategies on a validation set and write the
strategy table that ``--policy compute-optimal --strategy TABLE`` reads."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.common import InputError, config_from_options, search_options, user_errors
from prover.config import PolicyConfig
from prover.data import SPEC_HELP, load_dataset

__all__ = ["command"]

_REPRESENTATIVE = {"tactic": "best-first", "proof": "pass-n"}
"""A policy of each proposer kind, so the agent builds the proposer the grid needs."""


def _budgets(text: str) -> tuple[int, ...]:
    try:
        budgets = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise InputError(f"--budgets takes comma-separated token counts, got {text!r}") from None
    if not budgets or budgets[0] < 1:
        raise InputError(f"--budgets takes positive token counts, got {text!r}")
    return budgets


def _grid(path: Path | None, kind: str):
    from search.strategy import Strategy

    if path is None:
        from prover.calibrate import DEFAULT_GRIDS

        return DEFAULT_GRIDS[kind]
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return tuple(Strategy(str(s["policy"]), dict(s.get("params", {}))) for s in data["strategy"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"--grid {path}: expected [[strategy]] tables with policy and params ({exc})") from None


@click.command(name="calibrate")
@click.option("--dataset", required=True, help=f"Validation set, never the test split: {SPEC_HELP}.")
@click.option("--minif2f-path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MiniF2F JSONL (default: the catalogue downloaded by 'prover data minif2f').")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for strategy.toml, calibration.md and the grid's runs (resumable).")
@click.option("--kind", type=click.Choice(["tactic", "proof"]), default="tactic", show_default=True,
              help="Proposer kind of the strategies (tactic searches or whole proofs).")
@click.option("--grid", "grid_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file of [[strategy]] tables (policy, params) [default: a built-in grid per kind].")
@click.option("--budgets", default="32,64,128,256", show_default=True, help="Total budgets in generated tokens.")
@click.option("--signal", type=click.Choice(["pilot", "root-value"]), default="pilot", show_default=True,
              help="Difficulty signal of the table (both are measured and compared in calibration.md).")
@click.option("--pilot", type=click.IntRange(min=1), default=4, show_default=True, help="Pilot samples.")
@click.option("--bins", type=click.IntRange(min=1), default=3, show_default=True, help="Difficulty bins (quantiles).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N theorems.")
@search_options
@user_errors
def command(dataset, minif2f_path, out, kind, grid_path, budgets, signal, pilot, bins, limit, **options) -> None:
    """Measure strategies x budgets on a validation set and write a strategy table."""
    from prover.agent import Agent
    from prover.calibrate import calibrate

    if dataset.endswith(":test"):
        raise InputError("calibrate on a validation split; the test split is for measuring the table")
    config = config_from_options(options, policy=PolicyConfig(name=_REPRESENTATIVE[kind]))
    data = load_dataset(dataset, minif2f_path=minif2f_path).limit(limit)
    if not data.theorems:
        raise InputError(f"dataset {dataset!r} has no theorems")
    strategies = _grid(grid_path, kind)
    with Agent.from_config(config, statement=data.theorems[0].statement) as agent:
        result = calibrate(agent, data, kind=kind, strategies=strategies, budgets=_budgets(budgets), signal=signal,
                           pilot=pilot, bins=bins, out=out, seed=config.run.seed, limits=config.budget,
                           on_run=lambda name, run: click.echo(f"{name}: {len(run.solved)}/{len(data.theorems)}"))
    click.echo(f"strategy table -> {out / 'strategy.toml'} (evidence: {out / 'calibration.md'})")
    for choice in sorted(result.table.choices, key=lambda c: (c.budget, c.bin)):
        click.echo(f"  budget {choice.budget} bin {choice.bin}: {choice.strategy.label} ({choice.solved}/{choice.theorems})")
