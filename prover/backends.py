"""Build environments and proposers from configuration (the one place that knows every
backend and model kind). Heavy imports happen only for the kind asked for."""

from __future__ import annotations

from pathlib import Path

from lean_env import BackendUnavailable, Environment, StatementError, Theorem
from prover.config import EnvConfig, ModelConfig
from prover.data.minif2f import MINIF2F_HEADER
from search.proposer import Proposer

__all__ = ["resolve_env_kind", "build_environment", "build_proposer", "default_header", "theorem_from_statement"]


def default_header(env_kind: str) -> str:
    """Header placed before a bare statement: none for the sandbox, Mathlib's for Lean."""
    return "" if env_kind == "sandbox" else MINIF2F_HEADER


def resolve_env_kind(config: EnvConfig, statement: str | None = None) -> str:
    """Turn ``auto`` into a concrete backend: the sandbox for statements in its fragment,
    else the REPL when a Lean project is configured; otherwise say what to install. With no
    statement to look at, a configured Lean project wins and the sandbox is the default."""
    if config.kind != "auto":
        return config.kind
    from lean_env.stack import find_lean_project
    from propsandbox import parse_statement

    has_lean = find_lean_project(Path(config.lean_project) if config.lean_project else None) is not None
    if statement is None:
        return "repl" if has_lean else "sandbox"
    try:
        parse_statement(statement)
        return "sandbox"
    except StatementError as exc:
        if has_lean:
            return "repl"
        raise BackendUnavailable(
            f"the built-in sandbox cannot check this statement ({exc}), and no Lean project is configured: "
            "run 'prover setup' (installs Lean, Mathlib and the REPL) or pass --lean-project PATH"
        ) from None


def build_environment(config: EnvConfig, kind: str) -> Environment:
    """An environment of the resolved ``kind`` (``sandbox``, ``repl`` or ``leandojo``)."""
    if kind == "sandbox":
        from propsandbox import SandboxEnvironment

        return SandboxEnvironment(config.limits)
    if kind == "repl":
        from lean_env.repl import ReplConfig, ReplEnvironment
        from lean_env.stack import find_lean_project

        project = find_lean_project(Path(config.lean_project) if config.lean_project else None)
        if project is None:
            raise BackendUnavailable("no Lean project configured: run 'prover setup' or pass --lean-project PATH")
        project.validate()
        return ReplEnvironment(ReplConfig(command=project.repl_command(), cwd=project.root, limits=config.limits,
                                          allow_native_decide=config.allow_native_decide))
    if kind == "leandojo":
        from lean_env.leandojo import LeanDojoConfig, LeanDojoEnvironment

        if not (config.leandojo_repo and config.leandojo_commit):
            raise BackendUnavailable(
                "--env leandojo needs the traced repository: pass --leandojo-repo URL and --leandojo-commit SHA "
                "(config keys env.leandojo_repo, env.leandojo_commit)"
            )
        return LeanDojoEnvironment(
            LeanDojoConfig(repo_url=config.leandojo_repo, commit=config.leandojo_commit, limits=config.limits,
                           allow_native_decide=config.allow_native_decide)
        )
    raise BackendUnavailable(f"unknown environment kind {kind!r}; expected sandbox, repl, leandojo or auto")


def build_proposer(config: ModelConfig, env_kind: str, *, output: str = "tactic") -> Proposer:
    """The proposer for ``config``; ``output`` is what the policy consumes (``tactic`` or
    ``proof``). ``auto`` picks the model-free baseline for the sandbox (its whole-proof
    sampler for ``proof``) and the automation-tactic proposer for real Lean."""
    kind = config.proposer
    if kind == "auto":
        kind = "baseline" if env_kind == "sandbox" else "automation"
    if kind == "baseline":
        from prover.baseline import BaselineProposer, WholeProofBaseline

        if output == "proof":
            return WholeProofBaseline(temperature=1.0 if config.temperature is None else config.temperature)
        return BaselineProposer(temperature=config.temperature or 0.0)
    if kind == "automation":
        from prover.lean_automation import AutomationProposer

        return AutomationProposer()
    if kind == "model":
        if not config.path:
            raise BackendUnavailable("proposer 'model' needs a model path (--model PATH)")
        from prover.models import load_proposer

        decoding = ("temperature", "top_p", "max_new_tokens", "stop", "beam_search", "oversample")
        return load_proposer(
            config.path,
            format=config.format,
            backend=config.backend,
            device=config.device,
            dtype=config.dtype,
            trust_remote_code=config.trust_remote_code,
            settings={name: getattr(config, name) for name in decoding},
            engine_args=config.engine_args,
        )
    raise BackendUnavailable(f"unknown proposer {kind!r}; expected auto, baseline, automation or model")


def theorem_from_statement(statement: str, *, header: str) -> Theorem:
    """A ``Theorem`` from statement text ending in ``:= by`` (a trailing ``sorry`` is
    dropped), named as it declares itself (``anonymous`` for ``example``)."""
    from lean_env.source import declared_name, tactic_statement

    statement = tactic_statement(statement)
    return Theorem(name=declared_name(statement) or "anonymous", statement=statement, header=header)
