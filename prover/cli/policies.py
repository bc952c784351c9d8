"""``prover policies``: every search policy's parameters, generated from the policy definitions."""

from __future__ import annotations

import click

from prover.cli.common import InputError
from search import POLICIES, policy_parameters

__all__ = ["command"]


@click.command(name="policies")
@click.argument("names", nargs=-1)
def command(names: tuple[str, ...]) -> None:
    """List the search policies (or only NAMES) with each parameter's type, default and meaning."""
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise InputError(f"unknown search policy {unknown[0]!r}; choose from {', '.join(POLICIES)}")
    for name in names or tuple(POLICIES):
        cls = POLICIES[name]
        summary = (cls.__doc__ or "").strip().split("\n\n")[0].replace("``", "")
        kind = cls.proposer_kind if isinstance(cls.proposer_kind, str) else "the strategy table's"
        click.echo(f"{name} ({kind} proposer): {' '.join(summary.split())}")
        for info in policy_parameters(name):
            default = getattr(info.default, "__name__", info.default)
            where = "" if info.settable else " [Python API only]"
            click.echo(f"  {info.name}: {info.type} = {default!s}  {info.help}{where}")
        click.echo("")
    click.echo("Set parameters with --param KEY=VALUE (or [policy] params = {...} in --config).")
