"""Runs: a batch of searches as data (``Run``) and its crash-safe storage.

A run directory holds ``manifest.json`` (configuration, dataset, versions, git commit,
machine) and ``results.jsonl``: one record per (theorem, attempt), appended and flushed
to disk as soon as that search finishes, so a killed run loses nothing already finished
and ``--resume`` continues where it stopped. This module alone knows the file names.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from math import comb
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

from prover.data.jsonl import write_text_atomically
from search import SearchJob, SearchResult

__all__ = [
    "RESULTS_SCHEMA",
    "RESULTS_FILE",
    "MANIFEST_FILE",
    "RunError",
    "AttemptRecord",
    "CheckRecord",
    "Run",
    "RunStore",
    "build_manifest",
    "load_records",
    "pass_at_k",
]

_R = TypeVar("_R")

RESULTS_SCHEMA = 1
RESULTS_FILE = "results.jsonl"
MANIFEST_FILE = "manifest.json"


class RunError(ValueError):
    """A run directory cannot be used as asked (a user input error)."""


@dataclass(frozen=True)
class AttemptRecord:
    """The outcome of one search attempt on one theorem, as stored in ``results.jsonl``."""

    theorem: str
    attempt: int
    seed: int
    status: str
    proof: str | None = None
    verified: bool = False
    spent: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    split: str | None = None
    category: str | None = None
    findings: tuple[str, ...] = ()
    error: str | None = None
    schema: int = RESULTS_SCHEMA

    @property
    def key(self) -> tuple[str, int]:
        return (self.theorem, self.attempt)

    @property
    def proved(self) -> bool:
        return self.status == "proved" and self.verified

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_result(cls, job: SearchJob, result: SearchResult, *, category: str | None = None) -> "AttemptRecord":
        """The stored form of one finished search."""
        return cls(
            theorem=job.theorem.name,
            attempt=job.attempt,
            seed=job.seed,
            status=result.status,
            proof=result.proof,
            verified=bool(result.verdict and result.verdict.ok),
            spent=asdict(result.spent),
            timings=asdict(result.timings),
            split=job.theorem.split,
            category=category,
            findings=result.findings,
            error=result.error,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "AttemptRecord":
        return _from_dict(cls, data, where, ("findings",))


@dataclass(frozen=True)
class CheckRecord:
    """The verdict on one proof that ``prover check`` read, as stored in ``results.jsonl``.

    ``index`` counts earlier proofs of the same ``name`` in the input (several attempts
    per theorem are common in model outputs); ``status`` is ``ok``, ``failed`` or
    ``skipped`` (a term-mode proof); ``failure`` one of ``lean_env.FAILURES``; messages
    carry Lean's positions in the checked source."""

    name: str
    index: int
    status: str
    source: str | None = None
    checker: str = ""
    failure: str = ""
    reason: str = ""
    messages: tuple[str, ...] = ()
    axioms: tuple[str, ...] | None = None
    seconds: float = 0.0
    schema: int = RESULTS_SCHEMA

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.index)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "CheckRecord":
        record = _from_dict(cls, data, where, ("messages",))
        return dataclasses.replace(record, axioms=None if record.axioms is None else tuple(record.axioms))


def _from_dict(cls: type[_R], data: dict[str, Any], where: str, tuples: tuple[str, ...]) -> _R:
    schema = data.get("schema")
    if schema != RESULTS_SCHEMA:
        raise RunError(f"{where}: results schema {schema!r} is not supported (this version reads {RESULTS_SCHEMA}); rerun into a new --out")
    try:
        return cls(**{**data, **{name: tuple(data.get(name, ())) for name in tuples}})
    except TypeError as exc:
        raise RunError(f"{where}: not a results record ({exc})") from None


def load_records(path: Path, record_type: type[_R] = AttemptRecord) -> list[_R]:  # type: ignore[assignment]
    """Read a results file of ``record_type`` records; a torn last line (a run killed mid-write) is ignored."""
    records = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            if number == len(lines) or all(not rest.strip() for rest in lines[number:]):
                break
            raise RunError(f"{path}:{number}: corrupt results line") from None
        records.append(record_type.from_dict(data, f"{path}:{number}"))
    return records


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def build_manifest(*, config: dict[str, Any], dataset: dict[str, Any], argv: Iterable[str]) -> dict[str, Any]:
    """What a run was: its configuration, data, code and machine."""
    return {
        "schema": RESULTS_SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config,
        "dataset": dataset,
        "argv": list(argv),
        "git_commit": _git_commit(),
        "versions": {
            "python": platform.python_version(),
            **{name: _version(name) for name in ("lean-prover-agent", "torch", "transformers", "networkx", "lean-dojo")},
        },
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
    }


class RunStore:
    """A run directory: writes the manifest once, appends records durably, and knows
    which records (by ``key``: (theorem, attempt), or (name, index) for ``CheckRecord``)
    are already finished."""

    def __init__(self, directory: Path, *, resume: bool, record_type: type = AttemptRecord):
        self.directory = Path(directory)
        self.results_path = self.directory / RESULTS_FILE
        self.manifest_path = self.directory / MANIFEST_FILE
        self._resume = resume
        self.records: list = []
        if self.results_path.exists():
            if not resume:
                raise RunError(f"{self.directory} already holds results; pass --resume to continue it or choose another --out")
            self.records = load_records(self.results_path, record_type)
        self._file = None

    @property
    def finished(self) -> set[tuple[str, int]]:
        return {record.key for record in self.records}

    def open(self, manifest: dict[str, Any]) -> None:
        """Create the directory and manifest (or check it on resume) and open the results file."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if self._resume and self.manifest_path.exists():
                previous = json.loads(self.manifest_path.read_text(encoding="utf-8"))
                if previous.get("config") != manifest["config"] or previous.get("dataset") != manifest["dataset"]:
                    raise RunError(f"{self.directory}: --resume with a different configuration or dataset; use another --out")
            else:
                write_text_atomically(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False))
            self._truncate_torn_tail()
            self._file = open(self.results_path, "a", encoding="utf-8")
        except OSError as exc:
            raise RunError(f"cannot write run directory {self.directory}: {exc.strerror or exc}") from None

    def _truncate_torn_tail(self) -> None:
        """Drop a partial last line left by a killed writer, so appends start on a fresh line."""
        if not self.results_path.exists():
            return
        data = self.results_path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.results_path.write_bytes(data[: data.rfind(b"\n") + 1])

    def append(self, record: AttemptRecord | CheckRecord) -> None:
        """Write one record and force it to disk before returning."""
        assert self._file is not None, "RunStore.open() first"
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records.append(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()



def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` attempts with ``c`` successes (Chen et al. 2021): 1 - C(n-c, k)/C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass(frozen=True)
class Run:
    """A batch of searches: what was run (``manifest``) and one record per (theorem,
    attempt). ``results`` holds the full in-memory results (proof graphs included) of a
    run made in this process; a loaded run has only the records."""

    manifest: Mapping[str, Any]
    records: tuple[AttemptRecord, ...]
    results: tuple[SearchResult, ...] = field(default=(), compare=False, repr=False)
    name: str = ""

    @property
    def policy(self) -> str:
        """The policy's name, from the manifest."""
        return self.manifest.get("config", {}).get("policy", {}).get("name", "?")

    def by_theorem(self) -> dict[str, list[AttemptRecord]]:
        """Records grouped by theorem (in first-seen order), each group sorted by attempt."""
        grouped: dict[str, list[AttemptRecord]] = defaultdict(list)
        for record in self.records:
            grouped[record.theorem].append(record)
        return {name: sorted(group, key=lambda r: r.attempt) for name, group in grouped.items()}

    @property
    def solved(self) -> frozenset[str]:
        """Theorems with at least one verified proof."""
        return frozenset(r.theorem for r in self.records if r.proved)

    def pass_at_k(self, k: int) -> float:
        """Mean unbiased pass@k over the run's theorems; every theorem needs at least ``k`` attempts."""
        grouped = self.by_theorem()
        if not grouped:
            return 0.0
        return sum(pass_at_k(len(g), sum(r.proved for r in g), k) for g in grouped.values()) / len(grouped)

    def save(self, directory: Path | str) -> Path:
        """Write the run as ``prover bench`` does (manifest, then every record); the
        directory must not already hold results."""
        with RunStore(Path(directory), resume=False) as store:
            store.open(dict(self.manifest))
            for record in self.records:
                store.append(record)
        return Path(directory)

    @classmethod
    def load(cls, directory: Path | str) -> "Run":
        """Read a run directory written by ``prover bench``, ``Agent.run`` or ``Run.save``."""
        directory = Path(directory)
        results = directory / RESULTS_FILE
        if not results.is_file():
            raise RunError(f"{directory}: no {RESULTS_FILE} (is this a 'prover bench' --out directory?)")
        manifest_path = directory / MANIFEST_FILE
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
        except ValueError as exc:
            raise RunError(f"{manifest_path}: not valid JSON ({exc})") from None
        return cls(manifest=manifest, records=tuple(load_records(results)), name=directory.name or str(directory))
