"""Crash-safe storage of benchmark runs.

A run directory holds ``manifest.json`` (configuration, versions, git commit, machine)
and ``results.jsonl``: one record per (theorem, attempt), appended and flushed to disk
as soon as that search finishes, so a killed run loses nothing already finished and
``--resume`` continues where it stopped.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from prover.data.jsonl import write_text_atomically

__all__ = [
    "RESULTS_SCHEMA",
    "RunError",
    "AttemptRecord",
    "RunStore",
    "build_manifest",
    "load_records",
]

RESULTS_SCHEMA = 1
_RESULTS = "results.jsonl"
_MANIFEST = "manifest.json"


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
    def from_dict(cls, data: dict[str, Any], where: str) -> "AttemptRecord":
        schema = data.get("schema")
        if schema != RESULTS_SCHEMA:
            raise RunError(f"{where}: results schema {schema!r} is not supported (this version reads {RESULTS_SCHEMA}); rerun into a new --out")
        try:
            return cls(**{**data, "findings": tuple(data.get("findings", ()))})
        except TypeError as exc:
            raise RunError(f"{where}: not a results record ({exc})") from None


def load_records(path: Path) -> list[AttemptRecord]:
    """Read a results file; a torn last line (a run killed mid-write) is ignored."""
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
        records.append(AttemptRecord.from_dict(data, f"{path}:{number}"))
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
    which (theorem, attempt) pairs are already finished."""

    def __init__(self, directory: Path, *, resume: bool):
        self.directory = Path(directory)
        self.results_path = self.directory / _RESULTS
        self.manifest_path = self.directory / _MANIFEST
        self._resume = resume
        self.records: list[AttemptRecord] = []
        if self.results_path.exists():
            if not resume:
                raise RunError(f"{self.directory} already holds results; pass --resume to continue it or choose another --out")
            self.records = load_records(self.results_path)
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

    def append(self, record: AttemptRecord) -> None:
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

