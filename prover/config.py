"""Configuration: one frozen dataclass tree per command, read from TOML or YAML and
overridden by dotted keys. One loader and one override mechanism serve ``prove``,
``bench`` and ``train``; every value is checked against its annotation when it is read
(types, ``Literal`` choices, finite numbers, no booleans where numbers are meant), and
an error is one line naming the field and what it allows.

A search config has one table per concern, each optional::

    [env]         kind = "repl"; lean_project = "~/lean/minif2f"
    [env.limits]  workers = 8; step_timeout_s = 60
    [model]       proposer = "model"; path = "runs/models/sandbox-small"
    [policy]      name = "best-first"; params = { k = 8, alpha = 0.5 }
    [budget]      max_expansions = 600; max_seconds = 600
    [run]         seed = 0; attempts = 1
    [scheduler]   max_concurrent = 32; max_batch = 64
    [ray]         enabled = true; address = "auto"; workers = 8   (prover.distributed)
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, TypeVar

from lean_env import EnvLimits
from search import Budget, SchedulerConfig, SearchConfigError, resolve_policy
from search.params import check_params, param, type_problem

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "DEFAULT_BUDGET",
    "EnvConfig",
    "ModelConfig",
    "PolicyConfig",
    "RunConfig",
    "RayConfig",
    "ProverConfig",
    "read_config_mapping",
    "apply_mapping",
    "override",
    "load_config",
]

_C = TypeVar("_C")

EnvKind = Literal["sandbox", "repl", "leandojo", "auto"]
ProposerSource = Literal["auto", "baseline", "automation", "model"]
GenerationBackend = Literal["transformers", "vllm"]
WeightsDtype = Literal["auto", "bfloat16", "float16", "float32"]
_DEVICE = re.compile(r"cpu|mps|cuda(:\d+)?")

DEFAULT_BUDGET = Budget(max_expansions=200, max_seconds=300.0)
"""The budget of a search when none is given (CLI, config and Python API alike)."""


class ConfigError(ValueError):
    """A configuration file or override is invalid (a user input error)."""


def _checked(obj: Any) -> None:
    try:
        check_params(obj)
    except SearchConfigError as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class EnvConfig:
    """Which proof checker to use and the bounds on its work. ``auto`` uses the sandbox for
    statements in its propositional fragment and a configured Lean project otherwise."""

    kind: EnvKind = param("auto", "proof checker: sandbox, repl (the Lean REPL), leandojo, or auto")
    lean_project: str | None = param(None, "Lean project with Mathlib and the REPL (default: 'prover setup' or PROVER_LEAN_PROJECT)")
    leandojo_repo: str | None = param(None, "traced repository URL for --env leandojo")
    leandojo_commit: str | None = param(None, "commit of leandojo_repo")
    allow_native_decide: bool = param(False, "let native_decide/bv_decide through, with the axioms they use")
    limits: EnvLimits = EnvLimits()

    def __post_init__(self) -> None:
        _checked(self)


@dataclass(frozen=True)
class ModelConfig:
    """Where proposals come from: ``auto`` picks the model-free ``baseline`` on the sandbox
    and ``automation`` on real Lean goals; ``model`` loads ``path`` with prompt ``format``
    on ``backend``. Decoding fields left ``None`` take the format's defaults (its authors'
    settings); ``engine_args`` go to ``vllm.LLM`` (e.g. ``tensor_parallel_size``)."""

    proposer: ProposerSource = param("auto", "auto, baseline, automation or model")
    path: str | None = param(None, "model directory (or hub id on a connected machine)")
    format: str | None = param(None, "prompt format (default: recorded with the model)")
    backend: GenerationBackend = param("transformers", "generation backend: transformers, or vllm (the vllm extra)")
    device: str = param("cpu", "model device: cpu, cuda, cuda:N or mps")
    dtype: WeightsDtype = param("auto", "weights dtype: auto (the checkpoint's), bfloat16, float16 or float32")
    trust_remote_code: bool = param(False, "run model code shipped with the model (InternLM2.5-StepProver needs it)")
    temperature: float | None = param(None, "sampling temperature (None: the format's; 0 = greedy, top-k for the baseline)", min=0)
    top_p: float | None = param(None, "nucleus sampling mass in (0, 1] (None: the format's)", min=0)
    max_new_tokens: int | None = param(None, "generated tokens per candidate at most (None: the format's)", min=1)
    stop: tuple[str, ...] | None = param(None, "strings that end a generation (None: the format's)")
    beam_search: bool | None = param(None, "beam search instead of sampling (None: the format's)")
    oversample: int = param(1, "sample oversample x k rows per query and keep the k most likely distinct candidates "
                               "(a confident model repeats itself, leaving a search few tactics to try)", min=1)
    value: str | None = param(None, "value model directory (prover train --task value) scoring states for value-guided "
                                    "policies, on model.device")
    engine_args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checked(self)
        if not _DEVICE.fullmatch(self.device):
            raise ConfigError(f"model.device must be cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"model.top_p must be in (0, 1], got {self.top_p!r}")

    def __hash__(self) -> int:
        values = tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "engine_args")
        return hash((values, json.dumps(dict(self.engine_args), sort_keys=True, default=str)))


@dataclass(frozen=True)
class PolicyConfig:
    """A search policy by name and its parameters (``prover policies`` lists them)."""

    name: str = param("best-first", "search policy (prover policies lists them)")
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checked(self)
        try:
            resolve_policy(self.name, self.params)
        except SearchConfigError as exc:
            raise ConfigError(str(exc)) from None

    def __hash__(self) -> int:
        return hash((self.name, json.dumps(dict(self.params), sort_keys=True, default=str)))


@dataclass(frozen=True)
class RunConfig:
    """The seed of a run, how many independent attempts each theorem gets, and whether a run
    directory keeps each search's proof graph (``graphs.jsonl``: value-model training data)."""

    seed: int = param(0, "random seed of the run (attempt a uses search.attempt_seed(seed, a))")
    attempts: int = param(1, "independent attempts per theorem", min=1)
    save_graphs: bool = param(False, "write each finished search's proof graph to OUT/graphs.jsonl (--save-graphs)")

    def __post_init__(self) -> None:
        _checked(self)


def _resources(help: str) -> Any:
    return field(default_factory=dict, metadata={"help": help, "min": None})


@dataclass(frozen=True)
class RayConfig:
    """Spreading a run over a Ray cluster (``prover bench --ray``, ``prover.distributed``):
    where the cluster is, and the actors to start with the resources each asks for."""

    enabled: bool = param(False, "run searches on a Ray cluster (--ray)")
    address: str | None = param(None, "'local' starts Ray here; 'auto' or HOST:PORT (the head) joins a cluster; "
                                      "None: RAY_ADDRESS, else the cluster started on this machine, else a new local one")
    model_actors: int | None = param(None, "model actors, each holding the proposer and batching the queries of its searches "
                                           "(None: one per GPU for a GPU model, else 1; 0: every worker holds its own proposer)", min=0)
    model_gpus: float | None = param(None, "GPUs per model actor (None: 1 when model.device is cuda, else 0)", min=0)
    model_cpus: float = param(1.0, "CPUs per model actor", min=0)
    model_resources: Mapping[str, float] = _resources("custom Ray resources per model actor, e.g. { a100 = 1 }")
    workers: int | None = param(None, "search workers, each holding one environment (None: as many as the cluster's resources hold)", min=1)
    worker_cpus: float | None = param(None, "CPUs per search worker (None: env.limits.workers for Lean, 1 for the sandbox)", min=0)
    worker_resources: Mapping[str, float] = _resources("custom Ray resources per search worker, e.g. { lean = 1 }")
    max_restarts: int = param(3, "times Ray restarts an actor whose process died (its searches in flight are retried)", min=0)
    start_timeout_s: float = param(600.0, "longest wait for every actor to be placed and started (model loading included)", min=0)
    call_timeout_s: float = param(600.0, "longest one model call may take before the worker counts its model actor as lost", min=0)

    def __post_init__(self) -> None:
        _checked(self)
        for name in ("model_resources", "worker_resources"):
            for resource, amount in getattr(self, name).items():
                problem = type_problem(amount, float, 0)
                if problem is not None:
                    raise ConfigError(f"{name}.{resource} {problem}, got {amount!r}")

    def __hash__(self) -> int:
        return hash(json.dumps(dataclasses.asdict(self), sort_keys=True))


@dataclass(frozen=True)
class ProverConfig:
    """Everything needed to build an agent and run it; recorded in each run's manifest."""

    env: EnvConfig = EnvConfig()
    model: ModelConfig = ModelConfig()
    policy: PolicyConfig = PolicyConfig()
    budget: Budget = DEFAULT_BUDGET
    run: RunConfig = RunConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    ray: RayConfig = RayConfig()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole configuration."""
        return dataclasses.asdict(self)


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


def apply_mapping(config: _C, data: Mapping[str, Any], where: str = "") -> _C:
    """``config`` with the values of ``data`` checked and applied: nested tables update
    nested dataclasses (an instance replaces one whole), tables merge into mappings.
    ``ConfigError`` names the first bad key and what it allows."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"[{where}] must be a table, got {data!r}")
    hints = typing.get_type_hints(type(config))
    fields = {f.name: f for f in dataclasses.fields(config)}
    names = list(fields)
    unknown = sorted(set(data) - set(names))
    if unknown:
        place = f" in [{where}]" if where else ""
        raise ConfigError(f"unknown key(s){place}: {', '.join(unknown)}; expected one of {', '.join(names)}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        current = getattr(config, key)
        if dataclasses.is_dataclass(current):
            changes[key] = value if isinstance(value, type(current)) else apply_mapping(current, value, path)
            continue
        problem = type_problem(value, hints[key], fields[key].metadata.get("min"))
        if problem is not None:
            raise ConfigError(f"{path} {problem}, got {value!r}")
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            value = {**current, **value}
        changes[key] = tuple(value) if isinstance(value, list) and _tuple_typed(hints[key]) else value
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{where}]: {exc}" if where else str(exc)) from None


def _tuple_typed(tp: Any) -> bool:
    """Whether annotation ``tp`` is a tuple, or an optional tuple (lists read from text become tuples)."""
    return any(typing.get_origin(arm) is tuple for arm in (tp, *typing.get_args(tp)))


def override(config: _C, assignments: Iterable[tuple[str, Any]], *, rename: Callable[[str], str] | None = None) -> _C:
    """``config`` with each ``(dotted.key, value)`` applied in order; ``None`` values are
    skipped (a flag that was not given); ``rename`` maps each key first (as in ``load_config``)."""
    for key, value in assignments:
        if value is None:
            continue
        key = rename(key) if rename is not None else key
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        config = apply_mapping(config, nested)
    return config


def load_config(path: Path | str | None = None, *, base: _C | None = None,
                rename: Callable[[str], str] | None = None) -> _C:
    """A config read from a TOML or YAML file over ``base`` (default: ``ProverConfig()``);
    ``rename`` maps the file's top-level keys first (a key known by two names)."""
    config = ProverConfig() if base is None else base
    if path is None:
        return config
    data = read_config_mapping(Path(path))
    if rename is not None:
        data = {rename(key): value for key, value in data.items()}
    try:
        return apply_mapping(config, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
