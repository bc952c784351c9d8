"""Options and error handling shared by the commands that run searches (``prove``, ``bench``)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from lean_env import LeanEnvError
from prover.config import ConfigError, PolicyConfig, ProverConfig, load_config, override

__all__ = [
    "InputError",
    "SEARCH_FLAGS",
    "search_options",
    "set_option",
    "config_from_options",
    "parse_value",
    "parse_assignment",
    "user_errors",
    "decode_text",
]


class InputError(click.ClickException):
    """A user mistake (bad input, usage, missing file): one line on stderr and exit code 2."""

    exit_code = 2


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception classes that mean a user mistake. Model and cluster errors count only once
    their modules are loaded (they always are when such an error can occur), keeping torch
    and Ray lazy."""
    from prover.data import DatasetError
    from prover.runs import RunError
    from search.errors import SearchConfigError

    types: list[type[BaseException]] = [ConfigError, DatasetError, RunError, LeanEnvError, SearchConfigError]
    for module_name, class_name in (("prover.models.loading", "ModelLoadError"), ("prover.models.formats", "UnknownFormat"),
                                    ("prover.distributed.errors", "ClusterError")):
        module = sys.modules.get(module_name)
        if module is not None:
            types.append(getattr(module, class_name))
    return tuple(types)


def user_errors(func: Callable) -> Callable:
    """Report the library's user-facing errors as one line with exit code 2, never a
    traceback; so is an ``OSError`` on a named file (a path too long, not writable, a full
    disk): the user must fix the path or the machine, not the program."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, _user_error_types()):
                raise InputError(str(exc)) from None
            if isinstance(exc, OSError) and exc.filename is not None:
                name = str(exc.filename)
                raise InputError(f"cannot use {name[:200] + '…' if len(name) > 200 else name}: "
                                 f"{exc.strerror or exc}") from None
            raise

    return wrapper


def decode_text(data: bytes, what: str) -> str:
    """Decode UTF-8 input, naming the first bad byte's position."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None


def parse_value(text: str) -> Any:
    """A command-line value: JSON (numbers, true/false, null, lists, tables) when it parses, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignment(text: str, option: str) -> tuple[str, Any]:
    """``KEY=VALUE`` as ``(key, value)``; dashes in the key become underscores."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"{option} expects KEY=VALUE, got {text!r}")
    return key.strip().replace("-", "_"), parse_value(value)


SEARCH_FLAGS: dict[str, str] = {
    "env_kind": "env.kind",
    "lean_project": "env.lean_project",
    "leandojo_repo": "env.leandojo_repo",
    "leandojo_commit": "env.leandojo_commit",
    "workers": "env.limits.workers",
    "proposer": "model.proposer",
    "model_path": "model.path",
    "prompt_format": "model.format",
    "backend": "model.backend",
    "device": "model.device",
    "dtype": "model.dtype",
    "trust_remote_code": "model.trust_remote_code",
    "temperature": "model.temperature",
    "value_path": "model.value",
    "max_expansions": "budget.max_expansions",
    "max_env_calls": "budget.max_env_calls",
    "max_samples": "budget.max_samples",
    "max_tokens": "budget.max_tokens",
    "max_seconds": "budget.max_seconds",
    "seed": "run.seed",
}
"""Each search flag and the config key it sets (``--set KEY=VALUE`` reaches every other key)."""


def set_option(func: Callable) -> Callable:
    """``--set KEY=VALUE``: any config key, dotted (e.g. ``budget.max_seconds=60``)."""
    return click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
                        help="Set any config key, e.g. --set env.limits.step_timeout_s=30 (repeatable; after the flags).")(func)


def search_options(func: Callable) -> Callable:
    """Flags for the environment, proposer, policy, budget and seed (each overrides ``--config``)."""
    options = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="TOML or YAML config file (tables env, model, policy, budget, run, scheduler)."),
        click.option("--env", "env_kind", type=click.Choice(["auto", "sandbox", "repl", "leandojo"]), default=None,
                     help="Proof checker: the built-in sandbox, the Lean REPL, LeanDojo, or auto [default: auto]."),
        click.option("--lean-project", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Lean project with Mathlib and the REPL (default: from 'prover setup' or PROVER_LEAN_PROJECT)."),
        click.option("--leandojo-repo", type=str, default=None, help="Traced repository URL for --env leandojo."),
        click.option("--leandojo-commit", type=str, default=None, help="Commit of --leandojo-repo."),
        click.option("--workers", type=int, default=None, help="Lean REPL worker processes."),
        click.option("--proposer", type=click.Choice(["auto", "baseline", "automation", "model"]), default=None,
                     help="Where tactics come from [default: auto; 'model' when --model is given]."),
        click.option("--model", "model_path", type=str, default=None, help="Trained model directory (or hub id on a connected machine)."),
        click.option("--format", "prompt_format", type=str, default=None, help="Prompt format of --model (e.g. sandbox, reprover, bfs-prover)."),
        click.option("--backend", type=click.Choice(["transformers", "vllm"]), default=None,
                     help="Generation backend for --model [default: transformers; vllm needs the 'vllm' extra]."),
        click.option("--device", type=str, default=None, help="Model device: cpu, cuda, cuda:N or mps [default: cpu]."),
        click.option("--dtype", type=click.Choice(["auto", "bfloat16", "float16", "float32"]), default=None,
                     help="Weights dtype [default: auto, the checkpoint's]."),
        click.option("--trust-remote-code", is_flag=True, default=None,
                     help="Run model code shipped with --model (InternLM2.5-StepProver needs it; read it first)."),
        click.option("--temperature", type=float, default=None,
                     help="Sampling temperature (models default to 1.0; the baseline to 0, i.e. top-k)."),
        click.option("--policy", type=str, default=None, help="Search policy [default: best-first]; 'prover policies' lists them."),
        click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                     help="Policy parameter (repeatable), e.g. --param k=8; 'prover policies' lists each policy's."),
        click.option("--value", "value_path", type=str, default=None,
                     help="Value model directory (prover train --task value) for value-guided policies."),
        click.option("--strategy", "strategy_table", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Strategy table of --policy compute-optimal (written by 'prover calibrate')."),
        click.option("--max-expansions", type=int, default=None, help="Budget: proposer queries."),
        click.option("--max-env-calls", type=int, default=None, help="Budget: environment steps."),
        click.option("--max-samples", type=int, default=None, help="Budget: sampled candidates."),
        click.option("--max-tokens", type=int, default=None, help="Budget: generated tokens."),
        click.option("--timeout", "max_seconds", type=float, default=None, help="Budget: wall-clock seconds per attempt."),
        click.option("--seed", type=int, default=None, help="Random seed."),
        set_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def config_from_options(options: dict[str, Any], **extra: Any) -> ProverConfig:
    """``--config`` with the flags applied over it (flags win, ``--set`` last); ``extra``
    maps further config keys to values (``None``: not given)."""
    config = load_config(options["config_path"])
    if options["model_path"] and not options["proposer"]:
        options = {**options, "proposer": "model"}
    if options["lean_project"] is not None:
        options = {**options, "lean_project": str(options["lean_project"])}
    assignments = [(key, options[flag]) for flag, key in SEARCH_FLAGS.items()]
    policy = options["policy"]
    params = dict(parse_assignment(p, "--param") for p in options["params"])
    if options.get("strategy_table") is not None:
        params["strategy"] = str(options["strategy_table"])
    if policy is not None and policy != config.policy.name:  # a policy's required parameters come with it
        assignments += [("policy", PolicyConfig(name=policy, params=params))]
    assignments += [(f"policy.params.{k}", v) for k, v in params.items()]
    assignments += list(extra.items())
    assignments += [parse_assignment(a, "--set") for a in options["assignments"]]
    return override(config, assignments)
