"""Configuration: one frozen object per concern (environment, model, policy, budget, run),
loadable from TOML or YAML and overridable by command-line flags.

A config file has one table per concern, each optional::

    [env]     kind = "repl"; lean_project = "~/lean/minif2f"; workers = 8
    [model]   proposer = "model"; path = "runs/models/sandbox-small"
    [policy]  name = "best-first"; params = { k = 8, alpha = 0.5 }
    [budget]  max_expansions = 600; max_seconds = 600
    [run]     seed = 0; attempts = 1; concurrency = 32
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from search.budget import Budget

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "EnvConfig",
    "ModelConfig",
    "PolicyConfig",
    "RunConfig",
    "ProverConfig",
    "load_config",
    "read_config_mapping",
    "replace_checked",
]

EnvKind = Literal["sandbox", "repl", "leandojo", "auto"]
ProposerKind = Literal["auto", "baseline", "automation", "model"]


class ConfigError(ValueError):
    """A configuration file or override is invalid (a user input error)."""


@dataclass(frozen=True)
class EnvConfig:
    """Which proof checker to use and how to run it.

    ``auto`` uses the sandbox for statements in its propositional fragment and a
    configured Lean project (``prover setup`` or ``PROVER_LEAN_PROJECT``) otherwise.
    ``leandojo_repo``/``leandojo_commit`` name the traced repository for ``leandojo``.
    """

    kind: EnvKind = "auto"
    lean_project: str | None = None
    workers: int = 4
    step_timeout_s: float = 60.0
    memory_limit_mb: int | None = 16384
    recycle_after_steps: int = 2000
    leandojo_repo: str | None = None
    leandojo_commit: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    """Where proposals come from: the model-free baselines or a trained model.

    ``auto`` picks ``baseline`` on the sandbox and ``automation`` on real Lean goals; ``model`` loads
    ``path`` (a local checkpoint or hub id) with prompt ``format`` on ``device``.
    ``temperature`` ``None`` keeps each proposer's default: 1.0 for models, 0 (deterministic
    top-k) for the baseline; set it above 0 for the baseline under ``rollouts``.
    """

    proposer: ProposerKind = "auto"
    path: str | None = None
    format: str | None = None
    device: str = "cpu"
    temperature: float | None = None
    max_new_tokens: int = 128


@dataclass(frozen=True)
class PolicyConfig:
    """A search policy by name (``pass-n``, ``rollouts``, ``best-first``, ``beam``, ``mcts``,
    ``lookahead``) and its parameters (see each policy's config class)."""

    name: str = "best-first"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.name, json.dumps(dict(self.params), sort_keys=True, default=str)))


@dataclass(frozen=True)
class RunConfig:
    """How a batch run is executed: seeds, repeated attempts and concurrency."""

    seed: int = 0
    attempts: int = 1
    concurrency: int = 16
    max_batch: int = 64
    max_wait_ms: float = 5.0


@dataclass(frozen=True)
class ProverConfig:
    """Everything needed to build an agent and run it; printed in each run's manifest."""

    env: EnvConfig = EnvConfig()
    model: ModelConfig = ModelConfig()
    policy: PolicyConfig = PolicyConfig()
    budget: Budget = Budget(max_expansions=200, max_seconds=300.0)
    run: RunConfig = RunConfig()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole configuration."""
        return dataclasses.asdict(self)

    def override(self, section: str, **values: Any) -> "ProverConfig":
        """A copy with the given fields of one section replaced; ``None`` values are ignored."""
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return self
        return dataclasses.replace(self, **{section: replace_checked(getattr(self, section), section, values)})


def replace_checked(current: Any, section: str, values: Mapping[str, Any]) -> Any:
    """``dataclasses.replace`` that names unknown keys and invalid values of ``[section]`` as a ``ConfigError``."""
    known = {f.name for f in dataclasses.fields(current)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)}; expected one of {', '.join(sorted(known))}")
    try:
        return dataclasses.replace(current, **values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def read_config_mapping(path: Path) -> Mapping[str, Any]:
    """The top-level table of a TOML (default) or YAML (``.yaml``/``.yml``) file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:  # both parsers raise their own error classes
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'TOML'} ({exc})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: top level must be a table")
    return data


def load_config(path: Path | str | None = None, base: ProverConfig | None = None) -> ProverConfig:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config over ``base`` (defaults)."""
    config = base or ProverConfig()
    if path is None:
        return config
    data = read_config_mapping(Path(path))
    sections = {f.name for f in dataclasses.fields(ProverConfig)}
    unknown = sorted(set(data) - sections)
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; expected {', '.join(sorted(sections))}")
    for section, values in data.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"{path}: [{section}] must be a table")
        config = dataclasses.replace(config, **{section: replace_checked(getattr(config, section), section, dict(values))})
    return config
