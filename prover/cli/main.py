"""The ``prover`` command: a thin click group whose subcommands load lazily.

Each subcommand lives in its own module (``prover.cli.<name>``) so that importing the
CLI stays fast and torch is only imported by the commands that need it.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

__all__ = ["cli", "main"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "prove": ("prover.cli.prove", "Prove one theorem."),
    "check": ("prover.cli.check", "Verify proofs you already have (.lean files or JSONL)."),
    "bench": ("prover.cli.bench", "Run a dataset split in batch, with crash-safe results."),
    "report": ("prover.cli.report", "Summarise and compare benchmark runs."),
    "calibrate": ("prover.cli.calibrate", "Measure strategies on a validation set; write a compute-optimal strategy table."),
    "policies": ("prover.cli.policies", "List the search policies and their parameters."),
    "train": ("prover.cli.train", "Train a tactic model (CE or the confidence-limited DCO loss)."),
    "value-data": ("prover.cli.value_data", "Label the states of saved search graphs for value-model training."),
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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse an argument that is not UTF-8 text (its bytes arrive surrogate-escaped, and
        could not be printed back in a message) or holds a NUL (which no real argv can; an
        in-process caller's would reach ``open()`` as an error no option expects)."""
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise click.UsageError(f"an argument is not valid UTF-8 (bad byte at character {exc.start + 1})") from None
            if "\x00" in arg:
                raise click.UsageError(f"argument {arg!r} contains a NUL character")
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands from the table, without importing their modules."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, _COMMANDS[name][1]) for name in sorted(_COMMANDS)])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lean-prover-agent")
def cli() -> None:
    """A Lean 4 theorem-proving search agent."""


class _ClosedPipeSafe:
    """A text stream that turns a closed reader (``prover ... | head -1``) into silence: on
    the first broken pipe the descriptor is pointed at ``/dev/null``, so the command runs
    to its own end and exits with its own code, as if all its output had been read."""

    def __init__(self, stream):
        self._stream = stream

    def _silence(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._stream.fileno())
        finally:
            os.close(null)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main() -> None:
    """Console entry point: run the CLI, turning user errors into one line and exit 2, and a
    closed pipe on stdout into quiet success of the output already read."""
    if sys.stdout is not None:
        sys.stdout = _ClosedPipeSafe(sys.stdout)
    try:
        cli.main(prog_name="prover", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
