"""``prover bench``: run a dataset with a policy, a model and a budget.

Results are appended to ``OUT/results.jsonl`` one record per (theorem, attempt) as soon
as each search finishes (``Agent.run`` with ``out``); ``--resume`` skips what is already
there, and Ctrl-C stops cleanly without losing finished records. ``--save-graphs`` also
keeps each search's proof graph (``OUT/graphs.jsonl``), the value model's training data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from prover.agent import Agent
from prover.cli.common import InputError, config_from_options, search_options, user_errors
from prover.data import SPEC_HELP, load_dataset
from prover.runs import Run, RunStore

__all__ = ["command", "summary_line"]


@click.command(name="bench")
@click.option("--dataset", required=True, help=f"{SPEC_HELP}.")
@click.option("--minif2f-path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MiniF2F JSONL (default: the catalogue downloaded by 'prover data minif2f').")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory.")
@click.option("--resume", is_flag=True,
              help="Continue a run in --out, skipping finished (theorem, attempt) pairs; only --concurrency, --ray and "
                   "[ray] settings, more --attempts and a larger --limit may differ from the run's settings.")
@click.option("--rerun-changed", is_flag=True,
              help="With --resume: prove again the theorems whose statement changed since the run (their old "
                   "records are moved to superseded.jsonl) instead of refusing.")
@click.option("--save-graphs", is_flag=True,
              help="Also write each finished search's proof graph to OUT/graphs.jsonl (training data for "
                   "'prover train --task value --data OUT'; not with --ray).")
@click.option("--attempts", type=int, default=None, help="Repeated attempts per theorem, each with its own seed.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N theorems.")
@click.option("--concurrency", type=int, default=None, help="Searches running at once.")
@click.option("--on-bad-line", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
              help="What to do with a broken line in a JSONL dataset.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Spread the run over a Ray cluster: ADDRESS is its head (HOST:PORT), 'auto' (the cluster on this "
                   "machine) or 'local' (start one here); alone, RAY_ADDRESS, else this machine's cluster, else a new "
                   "local one. Actors and resources: [ray] in --config, docs/ray.md.")
@search_options
@user_errors
def command(dataset, minif2f_path, out, resume, rerun_changed, save_graphs, attempts, limit, concurrency, on_bad_line,
            ray_address, **options) -> None:
    """Run a dataset in batch with crash-safe, resumable results."""
    config = config_from_options(options, **{"run.attempts": attempts, "run.save_graphs": save_graphs or None,
                                             "scheduler.max_concurrent": concurrency,
                                             "ray.enabled": ray_address is not None or None, "ray.address": ray_address or None})
    skipped: list[str] = []
    data = load_dataset(dataset, minif2f_path=minif2f_path, on_bad_line=on_bad_line, skipped=skipped).limit(limit)
    for problem in skipped:
        click.echo(f"skipped {problem}", err=True)
    if not data.theorems:
        raise InputError(f"dataset {dataset!r} has no theorems")
    if rerun_changed and not resume:
        raise InputError("--rerun-changed needs --resume")
    if config.run.save_graphs and config.ray.enabled:
        raise InputError("--save-graphs needs the searches' graphs here, and a Ray run's stay on its workers: run without --ray")
    previous = RunStore(out, resume=resume).records  # refuses a used or busy --out before anything is built
    total = len(data.theorems) * config.run.attempts - len(previous)
    columns = (TextColumn("[bold]{task.fields[proved]} proved"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    if config.ray.enabled:
        from prover.distributed import RayAgent as agent_type
    else:
        agent_type = Agent
    with agent_type.from_config(config, statement=data.theorems[0].statement) as agent, \
            Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("bench", total=total, proved=sum(r.proved for r in previous))

        def advance(record, result) -> None:
            progress.update(task, advance=1, proved=progress.tasks[0].fields["proved"] + int(record.proved))

        try:
            run = agent.run(data, out=out, resume=resume, rerun_changed=rerun_changed, on_result=advance)
        except KeyboardInterrupt:
            kept = RunStore(out, resume=True).records
            click.echo(f"\ninterrupted: {len(kept)} results kept in {out}; continue with --resume", err=True)
            sys.exit(130)
    for warning in run.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{summary_line(run, len(data.theorems))} -> {out}")


def summary_line(run: Run, theorems: int) -> str:
    """``P/N theorems proved (A attempts recorded, E errors: first error)``."""
    errors = [record for record in run.records if record.status == "error"]
    line = f"{len(run.solved)}/{theorems} theorems proved ({len(run.records)} attempts recorded, {len(errors)} errors"
    if errors:
        first = (errors[0].error or "no message").splitlines()[0]
        line += f"; first: {errors[0].theorem}: {first[:200]}"
    return line + ")"
