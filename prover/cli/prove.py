"""``prover prove``: prove one theorem given as text, a ``.lean`` file + name, or a MiniF2F name.

Exit codes: 0 proved (and verified), 1 not proved within the budget, 2 usage or input error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lean_env import Theorem
from lean_env.source import SourceFile, tactic_statement
from prover.agent import Agent
from prover.cli.common import InputError, config_from_options, decode_text, search_options, user_errors
from prover.render import best_partial_state, write_graph

__all__ = ["command", "theorem_from_lean_file"]

_MAX_STATEMENT = 100_000
_SETUP_ERRORS = ("StatementError: ", "BackendUnavailable: ")
"""Search errors that mean the input or the setup is wrong, not that no proof was found (exit 2)."""


def theorem_from_lean_file(path: Path, name: str) -> Theorem:
    """The theorem ``name`` of a ``.lean`` file: everything before its declaration is its
    header, and its statement runs up to ``:= by`` (any proof after that is dropped).
    Doc comments, attributes and modifiers (``@[simp] private theorem``) are allowed; a
    term-mode proof or a missing ``:= by`` is one line of error."""
    try:
        text = decode_text(path.read_bytes(), str(path))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    decl = SourceFile(text).find(name)
    if decl is None:
        raise InputError(f"{path}: no theorem named {name!r}")
    if not decl.tactic:
        raise InputError(f"{path}:{decl.line}: theorem {name!r} has no ':= by' (only tactic proofs are supported)")
    return Theorem(name=name, statement=decl.statement, header=text[: decl.start], source=str(path))


def _minif2f_theorem(name: str, path: Path | None) -> Theorem:
    from prover.data import load_minif2f

    theorems = {t.name: t for t in load_minif2f(path)}
    if name not in theorems:
        close = [n for n in theorems if name.lower() in n.lower()][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"unknown MiniF2F theorem {name!r}{hint}")
    return theorems[name]


def _statement_text(statement: str) -> str:
    """Validate a statement given on the command line (argv bytes arrive surrogate-escaped)."""
    try:
        statement.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"statement is not valid UTF-8 (bad byte at character {exc.start + 1})") from None
    if not statement.strip():
        raise InputError("empty statement; give e.g. 'theorem t (p : Prop) : p → p := by'")
    if len(statement) > _MAX_STATEMENT:
        raise InputError(f"statement is {len(statement)} characters long; the limit is {_MAX_STATEMENT}")
    return tactic_statement(statement)


@click.command(name="prove")
@click.argument("statement", required=False)
@click.option("--file", "lean_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .lean file holding the theorem (use with --theorem).")
@click.option("--theorem", "theorem_name", default=None, help="Name of the theorem in --file.")
@click.option("--minif2f", "minif2f_name", default=None, help="A MiniF2F theorem by name (see 'prover data minif2f').")
@click.option("--minif2f-path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MiniF2F JSONL to read --minif2f from (default: the downloaded catalogue).")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proof graph: .json (reloadable), .html, .graphml or .dot.")
@search_options
@user_errors
def command(statement, lean_file, theorem_name, minif2f_name, minif2f_path, graph_path, **options) -> None:
    """Prove one theorem: STATEMENT text ending in ':= by', --file F --theorem NAME, or --minif2f NAME."""
    given = [x is not None for x in (statement, lean_file, minif2f_name)]
    if sum(given) != 1:
        raise InputError("give exactly one of STATEMENT, --file (with --theorem) or --minif2f")
    if lean_file is not None and not theorem_name:
        raise InputError("--file needs --theorem NAME")
    if lean_file is not None:
        target: Theorem | str = theorem_from_lean_file(lean_file, theorem_name)
    elif minif2f_name is not None:
        target = _minif2f_theorem(minif2f_name, minif2f_path)
    else:
        target = _statement_text(statement)
    text = target if isinstance(target, str) else target.statement
    config = config_from_options(options)
    with Agent.from_config(config, statement=text) as agent:
        theorem = agent.theorem(target)
        result = agent.prove(theorem)
    if result.status == "error" and result.error and result.error.startswith(_SETUP_ERRORS):
        raise InputError(result.error.split(": ", 1)[1])
    if graph_path is not None:
        try:
            write_graph(result.graph, graph_path, result=result, theorem=theorem)
        except OSError as exc:
            raise InputError(f"cannot write {graph_path}: {exc.strerror or exc}") from None
    spent = result.spent
    cost = (f"{spent.expansions} expansions, {spent.env_calls} env calls, {spent.samples} samples, "
            f"{result.timings.wall:.2f}s")
    if result.proved:
        click.echo(f"proved {theorem.name} (verified by {result.verdict.checker}; {cost})")
        click.echo(theorem.statement)
        click.echo("\n".join("  " + line for line in result.proof.splitlines()))
        return
    click.echo(f"not proved {theorem.name}: {result.status} ({cost})", err=True)
    if result.error:
        click.echo(f"reason: {result.error}", err=True)
    for finding in result.findings:
        click.echo(f"finding: {finding}", err=True)
    partial = best_partial_state(result.graph)
    if partial:
        click.echo("best partial state:\n" + partial, err=True)
    sys.exit(1)
