"""``prover report``: summarise one or more benchmark runs as Markdown and PNG plots."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.common import InputError, user_errors
from prover.data import load_known_issues
from prover.report import render_report
from prover.runs import Run

__all__ = ["command"]


def _flagged(known_issues: Path | None, runs: list[Run]) -> frozenset[str]:
    """Flagged names from ``--known-issues``, else from a known_issues.json beside a run's dataset file."""
    candidates = [known_issues] if known_issues else [
        Path(run.manifest["dataset"]["path"]).parent / "known_issues.json"
        for run in runs if run.manifest.get("dataset", {}).get("path")
    ]
    for path in candidates:
        if path and path.is_file():
            return frozenset(load_known_issues(path))
    return frozenset()


@click.command(name="report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for report.md and the PNG plots (default: the first run's directory).")
@click.option("--known-issues", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="known_issues.json whose statements are reported separately (default: beside the dataset).")
@click.option("--budget-axis", type=click.Choice(["samples", "expansions", "env_calls", "tokens", "seconds"]),
              default="samples", show_default=True, help="Resource on the x axis of the solved-vs-budget plot.")
@user_errors
def command(runs: tuple[Path, ...], out: Path | None, known_issues: Path | None, budget_axis: str) -> None:
    """Summarise and compare benchmark runs: pass rates, pass@k, solved-vs-budget."""
    loaded = [Run.load(directory) for directory in runs]
    target = out or runs[0]
    try:
        markdown = render_report(loaded, target, flagged=_flagged(known_issues, loaded), resource=budget_axis)
    except OSError as exc:
        raise InputError(f"cannot write report to {target}: {exc.strerror or exc}") from None
    click.echo(markdown)
    click.echo(f"report written to {target / 'report.md'}")
