"""``prover data``: fetch and inspect the datasets the prover runs on."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from prover.cli.common import InputError, user_errors
from prover.data import category, download_minif2f, load_minif2f

__all__ = ["command"]


@click.group(name="data")
def command() -> None:
    """Download and inspect datasets (MiniF2F, sandbox sets)."""


@command.command(name="minif2f")
@click.option("--path", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Use this minif2f_lean4.jsonl instead of downloading (e.g. an offline copy).")
@click.option("--dest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the downloaded catalogue (default: the cache, see PROVER_CACHE_DIR).")
@user_errors
def minif2f(path: Path | None, dest: Path | None) -> None:
    """Download the pinned MiniF2F statements (or check a local copy) and print counts."""
    source = path if path is not None else download_minif2f(dest)
    theorems = load_minif2f(source)
    splits = Counter(t.split for t in theorems)
    families = Counter(category(t.name) for t in theorems)
    click.echo(f"{source}: {len(theorems)} theorems ({splits['valid']} valid, {splits['test']} test)")
    click.echo("categories: " + ", ".join(f"{name} {count}" for name, count in sorted(families.items())))


@command.command(name="sandbox")
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="valid", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="JSONL file to write (the same record format as MiniF2F, usable with 'prover bench').")
@user_errors
def sandbox(split: str, out: Path) -> None:
    """Write a sandbox split (propositional theorems with reference proofs) as JSONL."""
    from propsandbox import SANDBOX_DATA_VERSION, load_split

    items = load_split(split)
    records = (
        {
            "name": item.theorem.name,
            "split": split,
            "header": item.theorem.header,
            "formal_statement": item.theorem.statement,
            "proof": "\n".join(item.proof),
            "source": f"sandbox-v{SANDBOX_DATA_VERSION}",
        }
        for item in items
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"wrote {len(items)} sandbox {split} theorems to {out}")
