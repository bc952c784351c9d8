"""``prover bench``: run a dataset split with a policy, a model and a budget.

Results are appended to ``OUT/results.jsonl`` one record per (theorem, attempt) as soon
as each search finishes; ``--resume`` skips what is already there, and Ctrl-C stops
cleanly without losing finished records.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from lean_env import Theorem
from prover.agent import Agent, AttemptJob
from prover.cli.common import InputError, config_from_options, search_options, user_errors
from prover.data import category, load_minif2f, load_theorems
from prover.runs import AttemptRecord, RunStore, build_manifest

__all__ = ["command", "load_dataset"]

SANDBOX_SPLITS = ("train", "valid", "test")


def load_dataset(spec: str, *, minif2f_path: Path | None, on_bad_line: str, skipped: list[str]) -> tuple[dict, tuple[Theorem, ...]]:
    """Theorems of ``spec``: ``sandbox-<split>``, ``minif2f-<valid|test>``, or a JSONL path;
    returns a description for the manifest and the theorems."""
    if spec.startswith("sandbox-") and spec.removeprefix("sandbox-") in SANDBOX_SPLITS:
        from propsandbox import SANDBOX_DATA_VERSION, load_split

        theorems = tuple(item.theorem for item in load_split(spec.removeprefix("sandbox-")))
        return {"name": spec, "version": SANDBOX_DATA_VERSION}, theorems
    if spec in ("minif2f-valid", "minif2f-test"):
        theorems = load_minif2f(minif2f_path, split=spec.removeprefix("minif2f-"))
        return {"name": spec, "path": str(minif2f_path) if minif2f_path else None}, theorems
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"unknown dataset {spec!r}: use sandbox-train|valid|test, minif2f-valid|test, or a JSONL file")
    theorems = load_theorems(path, on_error=on_bad_line, skipped=skipped)
    return {"name": path.name, "path": str(path.resolve())}, theorems


def _record(job: AttemptJob, result, dataset_name: str) -> AttemptRecord:
    is_minif2f = dataset_name.startswith("minif2f")
    return AttemptRecord(
        theorem=job.theorem.name,
        attempt=job.attempt,
        seed=job.seed,
        status=result.status,
        proof=result.proof,
        verified=bool(result.verdict and result.verdict.ok),
        spent=dataclasses.asdict(result.spent),
        timings=dataclasses.asdict(result.timings),
        split=job.theorem.split,
        category=category(job.theorem.name) if is_minif2f else dataset_name,
        findings=result.findings,
        error=result.error,
    )


@click.command(name="bench")
@click.option("--dataset", required=True,
              help="sandbox-train|sandbox-valid|sandbox-test, minif2f-valid|minif2f-test, or a theorem JSONL file.")
@click.option("--minif2f-path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MiniF2F JSONL (default: the catalogue downloaded by 'prover data minif2f').")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory.")
@click.option("--resume", is_flag=True, help="Continue a run in --out, skipping finished (theorem, attempt) pairs.")
@click.option("--attempts", type=click.IntRange(min=1), default=None, help="Repeated attempts per theorem, each with its own seed.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N theorems.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Searches running at once.")
@click.option("--on-bad-line", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
              help="What to do with a broken line in a JSONL dataset.")
@search_options
@user_errors
def command(dataset, minif2f_path, out, resume, attempts, limit, concurrency, on_bad_line, **options) -> None:
    """Run a dataset split in batch with crash-safe, resumable results."""
    config = config_from_options(options).override("run", attempts=attempts, concurrency=concurrency)
    skipped: list[str] = []
    described, theorems = load_dataset(dataset, minif2f_path=minif2f_path, on_bad_line=on_bad_line, skipped=skipped)
    for problem in skipped:
        click.echo(f"skipped {problem}", err=True)
    theorems = theorems[:limit] if limit else theorems
    if not theorems:
        raise InputError(f"dataset {dataset!r} has no theorems")
    described["count"] = len(theorems)
    store = RunStore(out, resume=resume)
    # The agent is built before the run directory is written, so a setup error leaves nothing behind.
    with Agent.from_config(config, statement=theorems[0].statement) as agent:
        store.open(build_manifest(config=config.to_dict(), dataset=described, argv=sys.argv))
        finished = store.finished
        jobs = [j for j in agent.jobs(theorems, attempts=config.run.attempts) if (j.theorem.name, j.attempt) not in finished]
        proved_attempts = sum(r.proved for r in store.records)
        columns = (TextColumn("[bold]{task.fields[proved]} proved"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with store, Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("bench", total=len(jobs), proved=proved_attempts)

            def save(job: AttemptJob, result) -> None:
                nonlocal proved_attempts
                store.append(_record(job, result, described["name"]))
                proved_attempts += bool(result.proved)
                progress.update(task, advance=1, proved=proved_attempts)

            try:
                agent.run_jobs(jobs, save)
            except KeyboardInterrupt:
                click.echo(f"\ninterrupted: {len(store.records)} results kept in {store.results_path}; "
                           f"continue with --resume", err=True)
                sys.exit(130)
    records = store.records
    proved = len({r.theorem for r in records if r.proved})
    click.echo(f"{proved}/{len(theorems)} theorems proved ({len(records)} attempts recorded) -> {store.results_path}")
