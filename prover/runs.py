"""Runs: a batch of searches as data (``Run``) and its crash-safe storage.

A run directory holds ``manifest.json`` (configuration, dataset with a content hash per
theorem, versions, git commit, machine) and ``results.jsonl``: one record per (theorem,
attempt), appended and forced to disk as soon as that search finishes, so a killed run
loses nothing already finished and ``--resume`` continues where it stopped.

``RunStore`` guards the directory: an exclusive lock (``lock``, an ``flock`` the kernel
releases when its holder dies, so a killed run's lock is taken over), resume rules that
accept only changes that cannot alter finished records (scheduling, more attempts, more
theorems) and name the field they refuse, theorems whose text changed refused by name (or
set aside and proved again), a full disk reported in one line with every finished record
kept, and damaged lines of ``results.jsonl`` set aside in ``damaged.jsonl`` rather than
blocking the run. With ``save_graphs`` each finished search's proof graph is appended to
``graphs.jsonl`` right after its record (the training data of the value model), under the
same rules. This module alone knows the file names.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import platform
import socket
import subprocess
import time
import types
import typing
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from importlib import metadata
from math import comb
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

from lean_env import Theorem
from search import SearchJob, SearchResult
from search.graph import ProofGraph

__all__ = [
    "RESULTS_SCHEMA",
    "RESULTS_FILE",
    "MANIFEST_FILE",
    "LOCK_FILE",
    "DAMAGED_FILE",
    "SUPERSEDED_FILE",
    "GRAPHS_FILE",
    "RESUMABLE_CHANGES",
    "RunError",
    "AttemptRecord",
    "CheckRecord",
    "ResultsScan",
    "Run",
    "RunStore",
    "build_manifest",
    "scan_results",
    "load_records",
    "SavedGraph",
    "load_graphs",
    "theorem_hash",
    "manifest_value",
    "pass_at_k",
]

RESULTS_SCHEMA = 1
RESULTS_FILE = "results.jsonl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "lock"
DAMAGED_FILE = "damaged.jsonl"
SUPERSEDED_FILE = "superseded.jsonl"
GRAPHS_FILE = "graphs.jsonl"
RESUMABLE_CHANGES = ("scheduler.*", "ray.*", "env.limits.workers", "run.attempts (more)", "dataset.count (more)")
"""Settings ``--resume`` accepts a change of: how and where searches are scheduled (a query's
seed does not depend on batching or concurrency, and a search on a Ray worker records what
it records locally, so the cluster's address, actor counts and resources cannot alter a
finished record) and growing the run. Any other change is refused."""

_STATUSES = ("proved", "failed", "budget", "error")
_R = TypeVar("_R")
_T = TypeVar("_T")


class RunError(ValueError):
    """A run directory cannot be used as asked (a user input error), or cannot be written."""


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fits(value: object, hint: Any) -> bool:
    """Whether a JSON value can stand for a record field of type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    if origin is tuple:
        return isinstance(value, list) and all(_fits(item, args[0]) for item in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return _number(value)
    return isinstance(value, hint) and (hint is bool or not isinstance(value, bool))


def _record_problem(cls: type, data: Mapping[str, Any], *, counter: str, statuses: tuple[str, ...]) -> str | None:
    """Why ``data`` is not a record of ``cls`` (``None`` when it is one): each field of the
    type the dataclass declares, ``counter`` not negative, ``status`` one of ``statuses``."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        if spec.name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                return f"field {spec.name!r} missing"
        elif not _fits(data[spec.name], hints[spec.name]):
            hint = hints[spec.name]
            return f"field {spec.name!r} is not {hint.__name__ if isinstance(hint, type) else hint}"
    unknown = set(data) - {spec.name for spec in dataclasses.fields(cls)}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(unknown))}"
    if data[counter] < 0 or data["status"] not in statuses:
        return f"bad {counter} or status"
    return None


def _from_dict(cls: type[_R], data: Any, where: str, *, counter: str, statuses: tuple[str, ...]) -> _R:
    """The record of ``cls`` that ``data`` holds: ``RunError`` for another schema version,
    ``ValueError`` naming the problem for anything else that is not such a record."""
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object but {type(data).__name__}")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise ValueError("no results schema number")
    if schema != RESULTS_SCHEMA:
        raise RunError(f"{where}: results schema {schema!r} is not supported (this version reads {RESULTS_SCHEMA}); rerun into a new --out")
    problem = _record_problem(cls, data, counter=counter, statuses=statuses)
    if problem is not None:
        raise ValueError(problem)
    tuples = {spec.name: tuple(data[spec.name]) for spec in dataclasses.fields(cls)
              if isinstance(data.get(spec.name), list)}
    return cls(**{**data, **tuples})


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
    def from_dict(cls, data: Any, where: str) -> "AttemptRecord":
        """The record ``data`` holds (see ``_from_dict``)."""
        return _from_dict(cls, data, where, counter="attempt", statuses=_STATUSES)


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
    def from_dict(cls, data: Any, where: str) -> "CheckRecord":
        """The record ``data`` holds (see ``_from_dict``)."""
        return _from_dict(cls, data, where, counter="index", statuses=("ok", "failed", "skipped"))


# ---------------------------------------------------------------------------- reading results


@dataclass(frozen=True)
class ResultsScan:
    """What a results file holds: the valid records (the first of each (theorem, attempt)),
    each one's line as written, and every line that is not a record (torn by a killed
    writer, garbled, a duplicate) with its number and the problem."""

    records: tuple[AttemptRecord, ...] = ()
    lines: tuple[bytes, ...] = ()
    damaged: tuple[tuple[int, str, bytes], ...] = ()
    terminated: bool = True

    @property
    def clean(self) -> bool:
        """Nothing to repair: no damaged line and a final newline."""
        return not self.damaged and self.terminated

    def describe(self, path: Path) -> str:
        """One line naming the damaged lines (the first few)."""
        shown = "; ".join(f"line {number}: {problem}" for number, problem, _ in self.damaged[:3])
        more = f"; and {len(self.damaged) - 3} more" if len(self.damaged) > 3 else ""
        return f"{path}: {len(self.damaged)} line(s) that are not records skipped ({shown}{more})"


def _scan_lines(path: Path, parse: Callable[[Any, str], tuple[tuple[str, int], _T]]
                ) -> tuple[list[tuple[tuple[str, int], _T, bytes]], list[tuple[int, str, bytes]], bool]:
    """The JSON lines of ``path`` that ``parse`` (entry, "path:line") turns into a keyed item,
    as (key, item, line) for the first line of each key; the damaged ones as (number, problem,
    line), ``parse`` rejecting a line with ``ValueError``; and whether the file ends in a
    newline. ``RunError`` from ``parse`` or an unreadable file stops the scan."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return [], [], True
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
    items: list[tuple[tuple[str, int], _T, bytes]] = []
    damaged: list[tuple[int, str, bytes]] = []
    seen: dict[tuple[str, int], int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            key, item = parse(json.loads(raw.decode("utf-8")), f"{path}:{number}")
        except UnicodeDecodeError:
            damaged.append((number, "not UTF-8 text", raw))
            continue
        except RunError:
            raise
        except ValueError as exc:
            problem = "not JSON (torn or garbled)" if isinstance(exc, json.JSONDecodeError) else str(exc)
            damaged.append((number, problem, raw))
            continue
        if key in seen:
            damaged.append((number, f"duplicate of line {seen[key]} ({key[0]!r}, {key[1]})", raw))
            continue
        seen[key] = number
        items.append((key, item, raw))
    return items, damaged, not data or data.endswith(b"\n")


def scan_results(path: Path, record_type: type = AttemptRecord) -> ResultsScan:
    """Read a results file of ``record_type`` records (``AttemptRecord`` or ``CheckRecord``),
    tolerating damage: a line that is not a valid record is listed in ``damaged`` instead
    of stopping the read. Records of another schema version raise ``RunError``; so does a
    file that cannot be read."""

    def parse(entry: Any, where: str) -> tuple[tuple[str, int], Any]:
        record = record_type.from_dict(entry, where)
        return record.key, record

    items, damaged, terminated = _scan_lines(path, parse)
    return ResultsScan(tuple(record for _, record, _ in items), tuple(raw for _, _, raw in items), tuple(damaged),
                       terminated=terminated)


def load_records(path: Path, record_type: type[_R] = AttemptRecord) -> list[_R]:  # type: ignore[assignment]
    """The valid ``record_type`` records of a results file (see ``scan_results``)."""
    return list(scan_results(path, record_type).records)


@dataclass(frozen=True)
class SavedGraph:
    """The proof graph of one finished search of ``theorem`` (its statement, header and
    split are kept with it, so the search can be replayed), as ``graphs.jsonl`` holds it;
    a reloaded graph has goals, edges and statuses but no live backend states."""

    theorem: Theorem
    attempt: int
    graph: ProofGraph = field(compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.theorem.name, self.attempt)

    def to_line(self) -> bytes:
        """The ``graphs.jsonl`` line of this graph."""
        entry = {"schema": RESULTS_SCHEMA, "theorem": self.theorem.name, "attempt": self.attempt,
                 "header": self.theorem.header, "statement": self.theorem.statement, "split": self.theorem.split,
                 "graph": json.loads(self.graph.to_json())}
        return (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")


def _graph_entry(entry: Any, where: str) -> tuple[tuple[str, int], dict]:
    """A ``graphs.jsonl`` entry keyed by (theorem, attempt); ``ValueError`` when it is not one."""
    if not (isinstance(entry, dict) and isinstance(entry.get("theorem"), str) and isinstance(entry.get("graph"), dict)
            and isinstance(entry.get("attempt"), int) and not isinstance(entry["attempt"], bool)):
        raise ValueError("not a graph entry (theorem, attempt, graph)")
    return (entry["theorem"], entry["attempt"]), entry


def load_graphs(directory: Path | str, *, warnings: list[str] | None = None) -> tuple[SavedGraph, ...]:
    """The proof graphs a run saved (``prover bench --save-graphs``), in the order written;
    lines that are not graphs (a torn last line, garbage, duplicates) are skipped and
    described in ``warnings``. ``RunError`` when the run saved none."""
    path = Path(directory) / GRAPHS_FILE
    if not path.is_file():
        raise RunError(f"{directory}: no {GRAPHS_FILE}; rerun 'prover bench' with --save-graphs to keep the search graphs")
    entries, damaged, _ = _scan_lines(path, _graph_entry)
    graphs = []
    for (theorem, attempt), entry, _ in entries:
        try:
            source = Theorem(theorem, str(entry.get("statement", "")), header=str(entry.get("header", "")),
                             split=entry.get("split"))
            graphs.append(SavedGraph(source, attempt, ProofGraph.from_json(json.dumps(entry["graph"]))))
        except (KeyError, TypeError, ValueError) as exc:
            damaged.append((0, f"graph of ({theorem!r}, {attempt}) unreadable ({exc})", b""))
    if damaged and warnings is not None:
        shown = "; ".join(f"line {n}: {problem}" if n else problem for n, problem, _ in damaged[:3])
        warnings.append(f"{path}: {len(damaged)} line(s) that are not graphs skipped ({shown})")
    return tuple(graphs)


def _replace_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a ``.partial`` sibling, forced to disk before
    and after the rename, so a crash leaves the old file or the new one, never half."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _sync_directory(path.parent)


def _append_durably(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- manifests


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def theorem_hash(theorem: Theorem) -> str:
    """A content hash of what a search of ``theorem`` sees: its header and statement."""
    text = json.dumps([theorem.header, theorem.statement], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_manifest(*, config: dict[str, Any], dataset: dict[str, Any], argv: Iterable[str],
                   theorems: Iterable[Theorem] = ()) -> dict[str, Any]:
    """What a run was: its configuration, data (with a content hash per theorem), code and machine."""
    return {
        "schema": RESULTS_SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config,
        "dataset": dataset,
        "theorems": {theorem.name: theorem_hash(theorem) for theorem in theorems},
        "argv": list(argv),
        "git_commit": _git_commit(),
        "versions": {
            "python": platform.python_version(),
            **{name: _version(name) for name in ("lean-prover-agent", "torch", "transformers", "networkx", "lean-dojo")},
        },
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
    }


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: not a run manifest (a JSON object is expected)")
    return manifest


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested tables as ``{"dotted.key": leaf}``."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


_UNSET = object()


def _show(value: object) -> str:
    return "(not recorded)" if value is _UNSET else json.dumps(value, default=str)


def _resumable(key: str, old: object, new: object) -> bool:
    """Whether a resumed run may change setting ``key`` from ``old`` to ``new``."""
    if key.startswith(("scheduler.", "ray.")) or key == "env.limits.workers" or old is _UNSET:
        return True
    if key == "run.attempts":
        return isinstance(old, int) and isinstance(new, int) and new > old
    return False


def _reconcile(previous: Mapping[str, Any], current: dict[str, Any], finished: set[str], *,
               rerun_changed: bool, where: Path) -> tuple[dict[str, Any], set[str], list[str]]:
    """The manifest of a resumed run, the theorems whose records are to be set aside (they
    changed and ``rerun_changed`` is set) and notices; ``RunError`` naming what differs when
    the run cannot be resumed as asked."""
    before = _flatten({"config": previous.get("config", {})}) | _flatten({"dataset": previous.get("dataset", {})})
    after = _flatten({"config": current["config"]}) | _flatten({"dataset": current["dataset"]})
    accepted: dict[str, list[Any]] = {}
    refused: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, _UNSET), after.get(key, _UNSET)
        if old == new:
            continue
        name = key.removeprefix("config.")
        if name == "dataset.count":
            ok = isinstance(old, int) and isinstance(new, int) and new > old
        else:
            ok = _resumable(name, old, new)
        if ok:
            accepted[name] = [None if old is _UNSET else old, None if new is _UNSET else new]
        else:
            refused.append(f"{name} ({_show(old)} in the run, {_show(new)} now)")
    if refused:
        shown = ", ".join(refused[:3]) + (f" and {len(refused) - 3} more" if len(refused) > 3 else "")
        raise RunError(f"{where}: --resume cannot change {shown}: finished records were made with the run's "
                       f"settings (a resume may only change {', '.join(RESUMABLE_CHANGES)}); use another --out")
    notices: list[str] = []
    superseded: set[str] = set()
    old_hashes, new_hashes = previous.get("theorems"), current.get("theorems") or {}
    if isinstance(old_hashes, dict) and old_hashes:
        gone = [name for name in old_hashes if name not in new_hashes]
        if gone:
            raise RunError(f"{where}: theorem {gone[0]!r} of the run is no longer in the dataset"
                           f"{f' (and {len(gone) - 1} more)' if len(gone) > 1 else ''}; use another --out")
        changed = [name for name, digest in old_hashes.items() if new_hashes[name] != digest and name in finished]
        if changed and not rerun_changed:
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise RunError(f"{where}: theorem {changed[0]!r}{more} changed since its records were made (its statement "
                           "or header differs); pass --rerun-changed to set those records aside and prove it again, "
                           "or use another --out")
        superseded = set(changed)
    elif finished and "theorems" not in previous:
        notices.append(f"{where}: the run's manifest has no theorem hashes (written by an older version), "
                       "so a changed theorem cannot be detected")
    merged = {**previous, "config": current["config"], "dataset": current["dataset"], "theorems": new_hashes}
    merged["resumes"] = [*previous.get("resumes", []), {
        "at": current["created"], "argv": current["argv"], "git_commit": current["git_commit"],
        "versions": current["versions"], "changed": accepted, "rerun": sorted(superseded)}]
    return merged, superseded, notices


# ---------------------------------------------------------------------------- the lock


class _RunLock:
    """An exclusive ``flock`` on ``DIRECTORY/lock``. The kernel drops it when the holder's
    file is closed or its process dies, so a killed run never blocks the next one; the file
    names the holder while held and is emptied on release, so a non-empty file found
    unlocked is the trace of a run that died holding it."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._fd: int | None = None

    def _try(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise RunError(f"cannot lock {self.path}: {exc.strerror or exc}") from None

    def _busy(self, fd: int) -> RunError:
        holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "a process"
        return RunError(f"{self.path.parent} is in use by another run ({holder}); wait for it to end or use another --out")

    def probe(self) -> None:
        """Raise ``RunError`` when another run holds the lock (and take nothing)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            if not self._try(fd):
                raise self._busy(fd)
        finally:
            os.close(fd)

    def acquire(self) -> list[str]:
        """Take the lock (``RunError`` when another run holds it); returns a notice when a
        dead run's lock was taken over."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunError(f"cannot write run directory {self.path.parent}: {exc.strerror or exc}") from None
        try:
            if not self._try(fd):
                raise self._busy(fd)
            stale = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            me = f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode("utf-8"), 0)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError):
                raise RunError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            raise
        self._fd = fd
        return [f"{self.path.parent}: took over the lock of a run that stopped without releasing it ({stale})"] if stale else []

    def release(self) -> None:
        """Empty the file (a clean end) and drop the lock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)


# ---------------------------------------------------------------------------- the store


class _LineLog:
    """A file appended to by whole lines, each forced to disk before ``append`` returns; a
    failed write closes it, cuts it back to its last whole line and raises the ``OSError``."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = open(path, "ab")
        self._size = self._handle.tell()

    def append(self, data: bytes) -> None:
        try:
            self._handle.write(data)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError:
            for undo in (self._handle.close, lambda: os.truncate(self.path, self._size)):
                try:
                    undo()
                except OSError:
                    pass
            raise
        self._size += len(data)

    def close(self) -> None:
        self._handle.close()


class RunStore:
    """A run directory: checks or writes the manifest, appends records durably, and knows
    which records are already finished (by ``key``: (theorem, attempt), or (name, index)
    for the ``CheckRecord`` verdicts of ``prover check``).

    ``open`` takes the directory's lock, which ``close`` releases. With ``resume`` the
    records already there count as finished and the manifest must agree with the new one
    (see ``RESUMABLE_CHANGES``); ``rerun_changed`` sets aside the records of theorems whose
    text changed, so that they are proved again. ``notices`` collects what was repaired or
    taken over, for the caller to show; ``manifest`` is the one written (a resumed run's
    keeps its history under ``resumes``). With ``save_graphs`` ``append`` also writes each
    search's graph to ``graphs.jsonl``; a resumed run keeps the graphs of its kept records
    only (a torn or damaged line goes to ``damaged.jsonl``, a superseded theorem's graph
    is dropped), so no (theorem, attempt) has two.
    """

    def __init__(self, directory: Path, *, resume: bool, rerun_changed: bool = False,
                 record_type: type = AttemptRecord, save_graphs: bool = False):
        self.directory = Path(directory)
        self.results_path = self.directory / RESULTS_FILE
        self.manifest_path = self.directory / MANIFEST_FILE
        self.graphs_path = self.directory / GRAPHS_FILE
        self._save_graphs = save_graphs
        self._graphs: _LineLog | None = None
        self._resume = resume
        self._rerun_changed = rerun_changed
        self._lock = _RunLock(self.directory)
        self._results: _LineLog | None = None
        self._record_type = record_type
        self.records: list = []
        self.notices: list[str] = []
        self.manifest: dict[str, Any] = {}
        if self.results_path.exists():
            if not resume:
                raise RunError(f"{self.directory} already holds results; pass --resume to continue it or choose another --out")
            self.records = load_records(self.results_path, record_type)
        self._lock.probe()

    @property
    def finished(self) -> set[tuple[str, int]]:
        return {record.key for record in self.records}

    def open(self, manifest: dict[str, Any]) -> None:
        """Lock the directory, create or check the manifest (resume rules), set aside what
        cannot stay in the results file, and open it for appending."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot write run directory {self.directory}: {exc.strerror or exc}") from None
        self.notices.extend(self._lock.acquire())
        try:
            self._open_locked(manifest)
        except BaseException:
            self._lock.release()
            raise

    def _open_locked(self, manifest: dict[str, Any]) -> None:
        scan = scan_results(self.results_path, self._record_type)
        if (scan.records or scan.damaged) and not self._resume:
            raise RunError(f"{self.directory} already holds results; pass --resume to continue it or choose another --out")
        superseded: set[str] = set()
        if self._resume and self.manifest_path.exists():
            finished = {record.key[0] for record in scan.records}
            manifest, superseded, notes = _reconcile(_read_manifest(self.manifest_path), manifest, finished,
                                                     rerun_changed=self._rerun_changed, where=self.directory)
            self.notices.extend(notes)
        try:
            _replace_durably(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
            if superseded or not scan.clean:
                self._set_aside(scan, superseded)
            self._results = _LineLog(self.results_path)
            self.records = [record for record in scan.records if record.key[0] not in superseded]
            if self._save_graphs:
                self._tidy_graphs({record.key for record in self.records})
                self._graphs = _LineLog(self.graphs_path)
        except OSError as exc:
            raise RunError(f"cannot write run directory {self.directory}: {exc.strerror or exc}") from None
        self.manifest = manifest

    def _tidy_graphs(self, kept: set[tuple[str, int]]) -> None:
        """Keep in ``graphs.jsonl`` only one graph per kept record: damaged lines go to
        ``damaged.jsonl``, graphs of records not kept (superseded) are dropped."""
        entries, damaged, terminated = _scan_lines(self.graphs_path, _graph_entry)
        keep = [raw for key, _, raw in entries if key in kept]
        if not damaged and terminated and len(keep) == len(entries):
            return
        if damaged:
            lines = (json.dumps({"file": GRAPHS_FILE, "line": number, "problem": problem,
                                 "text": raw.decode("utf-8", "replace")}, ensure_ascii=False) + "\n"
                     for number, problem, raw in damaged)
            _append_durably(self.directory / DAMAGED_FILE, "".join(lines).encode("utf-8"))
            self.notices.append(f"{self.graphs_path}: {len(damaged)} line(s) that are not graphs moved to {DAMAGED_FILE}")
        _replace_durably(self.graphs_path, b"".join(raw + b"\n" for raw in keep))

    def _set_aside(self, scan: ResultsScan, superseded: set[str]) -> None:
        """Move damaged lines to ``damaged.jsonl`` and the records of ``superseded`` theorems to
        ``superseded.jsonl``, then rewrite the results file with the rest (each step durable)."""
        if scan.damaged:
            entries = (json.dumps({"line": number, "problem": problem, "text": raw.decode("utf-8", "replace")},
                                  ensure_ascii=False) + "\n" for number, problem, raw in scan.damaged)
            _append_durably(self.directory / DAMAGED_FILE, "".join(entries).encode("utf-8"))
            self.notices.append(f"{scan.describe(self.results_path)}; moved to {DAMAGED_FILE}")
        old = [line for record, line in zip(scan.records, scan.lines) if record.key[0] in superseded]
        if old:
            _append_durably(self.directory / SUPERSEDED_FILE, b"".join(line + b"\n" for line in old))
            self.notices.append(f"{self.directory}: {len(superseded)} changed theorem(s) will be proved again "
                                f"({', '.join(sorted(superseded)[:3])}); their {len(old)} old record(s) moved to {SUPERSEDED_FILE}")
        kept = (line + b"\n" for record, line in zip(scan.records, scan.lines) if record.key[0] not in superseded)
        _replace_durably(self.results_path, b"".join(kept))

    def append(self, record: AttemptRecord | CheckRecord, graph: SavedGraph | None = None) -> None:
        """Write one record (then, when graphs are saved, its search's ``graph``) and force
        it to disk before returning. A failed write (a full disk) is rolled back to the last
        complete record (and graph) and raises ``RunError``."""
        if self._results is None:
            raise RunError(f"{self.directory}: the run store is not open")
        try:
            self._results.append((record.to_json() + "\n").encode("utf-8"))
        except OSError as exc:
            self._results = None
            raise RunError(f"cannot write {self.results_path}: {exc.strerror or exc}; the {len(self.records)} "
                           "results written before are kept, continue with --resume once there is room") from None
        self.records.append(record)
        if self._graphs is not None and graph is not None:
            try:
                self._graphs.append(graph.to_line())
            except OSError as exc:
                self._graphs = None
                raise RunError(f"cannot write {self.graphs_path}: {exc.strerror or exc}; the {len(self.records)} results "
                               "are kept (the last without its graph), continue with --resume once there is room") from None

    def close(self) -> None:
        """Close the results file and release the lock."""
        logs, self._results, self._graphs = (self._results, self._graphs), None, None
        try:
            for log in logs:
                if log is not None:
                    log.close()
        finally:
            self._lock.release()

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


def manifest_value(manifest: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted key of a manifest (``config.policy.name``), ``None`` when absent
    or when the manifest is not shaped as expected (one written by hand, or damaged)."""
    value: Any = manifest
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class Run:
    """A batch of searches: what was run (``manifest``) and one record per (theorem,
    attempt). ``results`` holds the full in-memory results (proof graphs included) of a
    run made in this process; a loaded run has only the records. ``warnings`` says what
    was skipped or repaired reading or writing it."""

    manifest: Mapping[str, Any]
    records: tuple[AttemptRecord, ...]
    results: tuple[SearchResult, ...] = field(default=(), compare=False, repr=False)
    name: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def policy(self) -> str:
        """The policy's name, from the manifest."""
        name = manifest_value(self.manifest, "config.policy.name")
        return name if isinstance(name, str) else "?"

    @property
    def planned_theorems(self) -> tuple[str, ...] | None:
        """The names of the theorems the run was asked to search (``None`` when its manifest
        does not list them: an older or hand-written one)."""
        hashes = self.manifest.get("theorems")
        return tuple(hashes) if isinstance(hashes, dict) and hashes else None

    @property
    def planned_attempts(self) -> int | None:
        """Attempts per theorem the run was asked for (``None`` when unknown)."""
        attempts = manifest_value(self.manifest, "config.run.attempts")
        return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) and attempts > 0 else None

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

    def restricted(self, theorems: Iterable[str]) -> "Run":
        """This run with only the records (and planned theorems) of ``theorems``."""
        keep = set(theorems)
        manifest = dict(self.manifest)
        if isinstance(manifest.get("theorems"), dict):
            manifest["theorems"] = {n: h for n, h in manifest["theorems"].items() if n in keep}
        return Run(manifest=manifest, records=tuple(r for r in self.records if r.theorem in keep),
                   name=self.name, warnings=self.warnings)

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
        """Read a run directory written by ``prover bench``, ``Agent.run`` or ``Run.save``;
        lines of the results file that are not records are skipped and named in ``warnings``."""
        directory = Path(directory)
        results = directory / RESULTS_FILE
        if not results.is_file():
            raise RunError(f"{directory}: no {RESULTS_FILE} (is this a 'prover bench' --out directory?)")
        manifest_path = directory / MANIFEST_FILE
        manifest = _read_manifest(manifest_path) if manifest_path.is_file() else {}
        scan = scan_results(results)
        warnings = (scan.describe(results),) if scan.damaged else ()
        return cls(manifest=manifest, records=scan.records, name=directory.name or str(directory), warnings=warnings)
