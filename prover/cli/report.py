"""``prover report``: summarise one or more benchmark runs as Markdown and PNG plots."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.common import InputError, user_errors
from prover.data import DatasetError, load_known_issues
from prover.report import BUDGET_AXES, render_report
from prover.runs import Run, manifest_value

__all__ = ["command"]


def _flagged(known_issues: Path | None, runs: list[Run]) -> frozenset[str]:
    """Flagged names from ``--known-issues``, else from a known_issues.json beside a run's dataset file."""
    candidates = [known_issues] if known_issues else [
        Path(path).parent / "known_issues.json"
        for run in runs if isinstance(path := manifest_value(run.manifest, "dataset.path"), str) and path
    ]
    for path in candidates:
        if path and path.is_file():
            try:
                return frozenset(load_known_issues(path))
            except DatasetError:
                if known_issues:
                    raise
    return frozenset()


def _load(directory: Path) -> Run:
    """A run to report on; one with no valid record is an input error, not a 0/0 table."""
    run = Run.load(directory)
    if not run.records:
        problem = f" ({run.warnings[0]})" if run.warnings else ""
        raise InputError(f"{directory}: no results records to report on{problem}")
    return run


@click.command(name="report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for report.md and the PNG plots (default: the first run's directory).")
@click.option("--known-issues", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="known_issues.json whose statements are reported separately (default: beside the dataset).")
@click.option("--budget-axis", type=click.Choice(BUDGET_AXES), default=BUDGET_AXES[0], show_default=True,
              help="Resource on the x axis of the solved-vs-budget plot (tokens: comparable across policy kinds).")
@click.option("--common", is_flag=True, help="Compare the runs only on the theorems every one of them finished.")
@click.option("--diff", is_flag=True, help="List the theorems proved by the first run and not another, and the reverse.")
@user_errors
def command(runs: tuple[Path, ...], out: Path | None, known_issues: Path | None, budget_axis: str,
            common: bool, diff: bool) -> None:
    """Summarise and compare benchmark runs: pass rates with intervals, pass@k, solved-vs-budget."""
    if diff and len(runs) < 2:
        raise InputError("--diff needs at least two runs")
    loaded = [_load(directory) for directory in runs]
    target = out or runs[0]
    try:
        markdown = render_report(loaded, target, flagged=_flagged(known_issues, loaded), resource=budget_axis,
                                 common=common, diff=diff)
    except OSError as exc:
        raise InputError(f"cannot write report to {target}: {exc.strerror or exc}") from None
    click.echo(markdown)
    click.echo(f"report written to {target / 'report.md'}")
