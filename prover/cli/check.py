"""``prover check``: verify proofs you already have (a ``.lean`` file, or model outputs in JSONL).

Every proof is judged as a search's proof is (``Environment.verify``: the tactic rules,
then Lean with the axiom audit, read in step), through the worker pool with each header
imported once. One JSON verdict per proof is printed as it comes (and appended to
``OUT/results.jsonl`` with ``--out``, resumable with ``--resume``); a summary line goes
to stderr. Exit codes: 0 every proof checked is ok, 1 some failed, 2 input error, 130
interrupted (every verdict already printed is kept).
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from pathlib import Path

import click

from prover import runtime
from prover.backends import build_environment, default_header, resolve_env_kind
from prover.check import check_items, read_inputs
from prover.cli.common import InputError, parse_assignment, set_option, user_errors
from prover.config import load_config, override
from prover.runs import CheckRecord, RunStore, build_manifest

__all__ = ["command"]

_CHECK_FLAGS = {
    "env_kind": "env.kind",
    "lean_project": "env.lean_project",
    "workers": "env.limits.workers",
    "allow_native_decide": "env.allow_native_decide",
}


@click.command(name="check")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--theorem", "theorem_name", default=None, help="Check only this theorem of the .lean file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory: each verdict is appended to its results.jsonl as it comes.")
@click.option("--resume", is_flag=True, help="Continue a check in --out, skipping proofs already judged.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML or YAML config file (its [env] table is used).")
@click.option("--env", "env_kind", type=click.Choice(["auto", "sandbox", "repl"]), default=None,
              help="Checker: the Lean REPL, the propositional sandbox, or auto (Lean when configured) [default: auto].")
@click.option("--lean-project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Lean project with Mathlib and the REPL (default: from 'prover setup' or PROVER_LEAN_PROJECT).")
@click.option("--workers", type=int, default=None, help="Lean REPL worker processes.")
@click.option("--allow-native-decide", is_flag=True, default=None,
              help="Accept native_decide/bv_decide proofs (and the axioms Lean.ofReduceBool, Lean.trustCompiler).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Check on a Ray cluster's workers: ADDRESS as for 'prover bench --ray' (docs/ray.md).")
@set_option
@user_errors
def command(inputs, theorem_name, out, resume, config_path, env_kind, lean_project, workers, allow_native_decide, ray_address,
            assignments) -> None:
    """Verify existing proofs: .lean files (every theorem, or --theorem NAME) or JSONL
    ({name, formal_statement, proof} or {name, code})."""
    if resume and out is None:
        raise InputError("--resume needs --out DIR")
    if theorem_name is not None and len(inputs) != 1:
        raise InputError("--theorem selects a theorem of one .lean file")
    flags = {"env_kind": env_kind, "lean_project": str(lean_project) if lean_project else None,
             "workers": workers, "allow_native_decide": allow_native_decide}
    config = override(load_config(config_path), [(_CHECK_FLAGS[flag], value) for flag, value in flags.items()])
    config = override(config, [("ray.enabled", ray_address is not None or None), ("ray.address", ray_address or None)])
    config = override(config, [parse_assignment(a, "--set") for a in assignments])
    kind = resolve_env_kind(config.env)
    if kind == "leandojo":
        raise InputError("prover check runs on the REPL or the sandbox; LeanDojo only reaches theorems inside a traced repository")
    items = read_inputs(inputs, theorem=theorem_name, default_header=default_header(kind),
                        allow_native_decide=config.env.allow_native_decide)
    store = RunStore(out, resume=resume, record_type=CheckRecord) if out is not None else None
    if config.ray.enabled:  # before the run directory is written: a cluster that cannot start leaves none
        from prover.distributed import RayChecker

        env = RayChecker.start(config, env_kind=kind)
    else:
        env = build_environment(config.env, kind)
    counts = Counter(record.status for record in store.records) if store else Counter()
    done = {record.key for record in store.records} if store else set()
    if store is not None:
        manifest = build_manifest(config={"command": "check", "env": dataclasses.asdict(config.env)},
                                  dataset={"inputs": [str(p) for p in inputs], "theorem": theorem_name, "proofs": len(items)},
                                  argv=sys.argv)
        store.open(manifest)
    if kind == "sandbox" and config.env.kind == "auto":
        click.echo("note: no Lean project configured; checking with the propositional sandbox "
                   "(statements outside its fragment fail)", err=True)

    async def main() -> None:
        async with env:
            todo = [item for item in items if item.key not in done]
            records = env.check(todo) if config.ray.enabled else check_items(env, todo, concurrency=2 * config.env.limits.workers)
            async for record in records:
                if store is not None:
                    store.append(record)
                click.echo(record.to_json())
                counts[record.status] += 1

    def summary(then: str = "") -> None:
        where = f"; verdicts in {store.results_path}" if store is not None else ""
        click.echo(f"checked {sum(counts.values())} of {len(items)} proofs with {env.name}: {counts['ok']} ok, "
                   f"{counts['failed']} failed, {counts['skipped']} skipped{where}{then}", err=True)

    try:
        runtime.run(main())
    except KeyboardInterrupt:
        summary("; continue with --resume" if store is not None else "")  # every verdict so far is on disk
        click.echo("interrupted", err=True)
        sys.exit(130)
    finally:
        if store is not None:
            store.close()
    summary()
    sys.exit(1 if counts["failed"] else 0)
