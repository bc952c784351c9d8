"""The ``prover`` command: a thin click group whose subcommands load lazily.

Each subcommand lives in its own module (``prover.cli.<name>``) so that importing the
CLI stays fast and torch is only imported by the commands that need it.
"""

from __future__ import annotations

import importlib
import sys

import click

__all__ = ["cli", "main"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "prove": ("prover.cli.prove", "Prove one theorem."),
    "check": ("prover.cli.check", "Verify proofs you already have (.lean files or JSONL)."),
    "bench": ("prover.cli.bench", "Run a dataset split in batch, with crash-safe results."),
    "report": ("prover.cli.report", "Summarise and compare benchmark runs."),
    "policies": ("prover.cli.policies", "List the search policies and their parameters."),
    "train": ("prover.cli.train", "Train a tactic model (CE or the confidence-limited DCO loss)."),
    "data": ("prover.cli.data", "Download and inspect datasets (MiniF2F, sandbox sets)."),
    "setup": ("prover.cli.setup", "Install or locate Lean, Mathlib and the REPL."),
}


class _LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name not in _COMMANDS:
            return None
        module = importlib.import_module(_COMMANDS[name][0])
        return getattr(module, "command")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands from the table, without importing their modules."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, _COMMANDS[name][1]) for name in sorted(_COMMANDS)])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lean-prover-agent")
def cli() -> None:
    """A Lean 4 theorem-proving search agent."""


def main() -> None:
    """Console entry point: run the CLI, turning user errors into one line and exit 2."""
    try:
        cli.main(prog_name="prover", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
