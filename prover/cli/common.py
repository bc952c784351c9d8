"""Options and error handling shared by the commands that run searches (``prove``, ``bench``)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from lean_env import LeanEnvError
from prover.config import ConfigError, ProverConfig, load_config

__all__ = ["InputError", "search_options", "config_from_options", "user_errors", "decode_text"]

POLICIES = ("pass-n", "rollouts", "best-first", "beam", "mcts", "lookahead")


class InputError(click.ClickException):
    """A user mistake (bad input, usage, missing file): one line on stderr and exit code 2."""

    exit_code = 2


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception classes that mean a user mistake. Model errors count only once the model
    modules are loaded (they always are when such an error can occur), keeping torch lazy."""
    from prover.data import DatasetError
    from prover.runs import RunError
    from search.errors import SearchConfigError

    types: list[type[BaseException]] = [ConfigError, DatasetError, RunError, LeanEnvError, SearchConfigError]
    for module_name, class_name in (("prover.models.loading", "ModelLoadError"), ("prover.models.formats", "UnknownFormat")):
        module = sys.modules.get(module_name)
        if module is not None:
            types.append(getattr(module, class_name))
    return tuple(types)


def user_errors(func: Callable) -> Callable:
    """Report the library's user-facing errors as one line with exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, _user_error_types()):
                raise InputError(str(exc)) from None
            raise

    return wrapper


def decode_text(data: bytes, what: str) -> str:
    """Decode UTF-8 input, naming the first bad byte's position."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None


def _parse_param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InputError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        return key.strip().replace("-", "_"), json.loads(value)
    except ValueError:
        return key.strip().replace("-", "_"), value


def search_options(func: Callable) -> Callable:
    """Flags for the environment, proposer, policy, budget and seed (each overrides ``--config``)."""
    options = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="TOML or YAML config file (sections env, model, policy, budget, run)."),
        click.option("--env", "env_kind", type=click.Choice(["auto", "sandbox", "repl", "leandojo"]), default=None,
                     help="Proof checker: the built-in sandbox, the Lean REPL, LeanDojo, or auto [default: auto]."),
        click.option("--lean-project", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Lean project with Mathlib and the REPL (default: from 'prover setup' or PROVER_LEAN_PROJECT)."),
        click.option("--workers", type=click.IntRange(min=1), default=None, help="Lean REPL worker processes."),
        click.option("--proposer", type=click.Choice(["auto", "baseline", "automation", "model"]), default=None,
                     help="Where tactics come from [default: auto; 'model' when --model is given]."),
        click.option("--model", "model_path", type=str, default=None, help="Trained model directory (or hub id on a connected machine)."),
        click.option("--format", "prompt_format", type=str, default=None, help="Prompt format of --model (e.g. sandbox, reprover, bfs-prover)."),
        click.option("--device", type=str, default=None, help="Model device, e.g. cpu or cuda."),
        click.option("--temperature", type=click.FloatRange(min=0), default=None,
                     help="Sampling temperature (models default to 1.0; the baseline to 0, i.e. top-k)."),
        click.option("--policy", type=click.Choice(POLICIES), default=None, help="Search policy [default: best-first]."),
        click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Policy parameter (repeatable), e.g. --param k=8."),
        click.option("--max-expansions", type=click.IntRange(min=0), default=None, help="Budget: proposer queries."),
        click.option("--max-env-calls", type=click.IntRange(min=0), default=None, help="Budget: environment steps."),
        click.option("--max-samples", type=click.IntRange(min=0), default=None, help="Budget: sampled candidates."),
        click.option("--max-tokens", type=click.IntRange(min=0), default=None, help="Budget: generated tokens."),
        click.option("--timeout", "max_seconds", type=click.FloatRange(min=0), default=None, help="Budget: wall-clock seconds per attempt."),
        click.option("--seed", type=int, default=None, help="Random seed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def config_from_options(options: dict[str, Any]) -> ProverConfig:
    """Merge ``--config`` with the flags given (flags win)."""
    config = load_config(options["config_path"])
    proposer = options["proposer"] or ("model" if options["model_path"] else None)
    config = config.override("env", kind=options["env_kind"], workers=options["workers"],
                             lean_project=str(options["lean_project"]) if options["lean_project"] else None)
    config = config.override("model", proposer=proposer, path=options["model_path"],
                             format=options["prompt_format"], device=options["device"],
                             temperature=options["temperature"])
    params = dict(_parse_param(p) for p in options["params"])
    if options["policy"] or params:
        merged = params if options["policy"] and options["policy"] != config.policy.name else {**config.policy.params, **params}
        config = config.override("policy", name=options["policy"] or config.policy.name, params=merged)
    config = config.override("budget", max_expansions=options["max_expansions"], max_env_calls=options["max_env_calls"],
                             max_samples=options["max_samples"], max_tokens=options["max_tokens"],
                             max_seconds=options["max_seconds"])
    return config.override("run", seed=options["seed"])
