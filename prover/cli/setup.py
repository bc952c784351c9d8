"""``prover setup``: install the pinned Lean stack, or record an existing Lean project.

Installing needs the network (elan, the toolchain, Mathlib's build cache, the REPL
sources); without it the command fails fast and says how to use ``--lean-project``.
"""

from __future__ import annotations

from pathlib import Path

import click

from lean_env.errors import BackendUnavailable
from lean_env.setup import (
    CommandRunner,
    NetworkProbe,
    SetupPaths,
    describe_project,
    install_steps,
    record_project,
    run_steps,
    toolchain_mismatch,
)
from lean_env.stack import LeanProject, config_path, default_cache_dir, find_lean_project
from prover.cli.common import user_errors

__all__ = ["command"]


class _UserError(click.ClickException):
    """A mistake in the user's input: one line, exit status 2."""

    exit_code = 2


def _show(project: LeanProject, cache_dir: Path) -> None:
    for line in describe_project(project, config_path(cache_dir)):
        click.echo(line)


def _record(lean_project: Path, cache_dir: Path, dry_run: bool) -> None:
    project = find_lean_project(lean_project, cache_dir=cache_dir)
    assert project is not None  # an explicit path always yields a project
    try:
        project.validate()
    except BackendUnavailable as exc:
        raise _UserError(str(exc)) from exc
    warning = toolchain_mismatch(project)
    if warning:
        click.echo(warning, err=True)
    if dry_run:
        click.echo(f"would record {project.root} in {config_path(cache_dir)}")
        return
    _show(record_project(project, cache_dir), cache_dir)


def _install(cache_dir: Path, dry_run: bool) -> None:
    paths = SetupPaths(cache_dir=cache_dir)
    steps = install_steps(paths, CommandRunner(bin_dir=paths.elan_home / "bin", echo=click.echo))
    if dry_run:
        for step in steps:
            click.echo(f"[{'done' if step.is_done() else 'todo'}] {step.name}: {step.description}")
        return
    run_steps(steps, probe=NetworkProbe(), echo=click.echo)
    _show(LeanProject(root=paths.project_dir, repl_binary=paths.repl_binary), cache_dir)
    click.echo(f"put {paths.elan_home / 'bin'} on PATH so that `lake` is found")


@click.command(name="setup")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to install and keep the config (default: $PROVER_CACHE_DIR or ~/.cache/lean-prover).",
)
@click.option(
    "--lean-project",
    type=click.Path(path_type=Path),
    default=None,
    help="Record this existing Lake project with Mathlib instead of installing one.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be done.")
@user_errors
def command(cache_dir: Path | None, lean_project: Path | None, dry_run: bool) -> None:
    """Install or locate Lean, Mathlib and the REPL (pinned versions, idempotent)."""
    cache = cache_dir or default_cache_dir()
    try:
        if lean_project is not None:
            _record(lean_project, cache, dry_run)
        else:
            _install(cache, dry_run)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
