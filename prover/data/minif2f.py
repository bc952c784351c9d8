"""The MiniF2F catalogue: load the Lean 4 statements, download the pinned upstream copy,
and flag the statements suspected to be misformalised.

The data is never shipped with this package: users fetch it with ``prover data minif2f``
(pinned to the upstream commit below) or point ``--path`` at a copy they have.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lean_env.stack import default_cache_dir
from lean_env.types import Theorem
from prover.data.jsonl import DatasetError, load_theorems, write_text_atomically

__all__ = [
    "MINIF2F_REPO",
    "MINIF2F_COMMIT",
    "MINIF2F_SPLIT_SIZE",
    "MINIF2F_HEADER",
    "KnownIssue",
    "MiniF2FNotFound",
    "category",
    "default_minif2f_path",
    "download_minif2f",
    "load_known_issues",
    "load_minif2f",
    "theorems_from_archive",
]

MINIF2F_REPO = "yangky11/miniF2F-lean4"
MINIF2F_COMMIT = "5746b7d6c47855ce1294bed87329618ff7f1bc31"
MINIF2F_SPLIT_SIZE = 244
MINIF2F_HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
"""The header every pinned MiniF2F statement has; REPL workers are keyed by header, so
statements given as text reuse the same workers (and their ``import Mathlib``)."""
_ARCHIVE_URL = f"https://codeload.github.com/{MINIF2F_REPO}/tar.gz/{MINIF2F_COMMIT}"
_FILE_NAME = "minif2f_lean4.jsonl"
_SPLIT_DIRS = {"Valid": "valid", "Test": "test"}
_CATEGORY = re.compile(r"^(mathd_algebra|mathd_numbertheory|amc12[ab]?|aime(?:I|II)?|imosl|imo|algebra|numbertheory|induction)_")


class MiniF2FNotFound(DatasetError):
    """No local MiniF2F copy was found and none could be downloaded."""


@dataclass(frozen=True)
class KnownIssue:
    """A statement suspected to be misformalised (from ``known_issues.json``)."""

    name: str
    split: str
    affects: tuple[str, ...]
    issue: str
    confidence: str


def category(name: str) -> str:
    """The competition family of a MiniF2F theorem name (``mathd_algebra``, ``amc12``, ``aime``, ``imo``, ...)."""
    match = _CATEGORY.match(name)
    if not match:
        return "other"
    family = match.group(1)
    if family.startswith("amc12"):
        return "amc12"
    if family.startswith("aime"):
        return "aime"
    return "imo" if family == "imosl" else family


def default_minif2f_path() -> Path:
    """The file the loader reads when no path is given: ``$PROVER_MINIF2F`` or the download cache."""
    explicit = os.environ.get("PROVER_MINIF2F")
    return Path(explicit) if explicit else default_cache_dir() / "minif2f" / MINIF2F_COMMIT[:12] / _FILE_NAME


def load_minif2f(path: Path | str | None = None, *, split: str | None = None) -> tuple[Theorem, ...]:
    """Read MiniF2F statements from a JSONL file (fields ``name, split, header,
    formal_statement, informal_statement, source``); ``split`` keeps only ``valid`` or ``test``."""
    source = Path(path) if path is not None else default_minif2f_path()
    if not source.is_file():
        hint = "pass --path FILE" if path is not None else "run 'prover data minif2f' (needs internet) or pass --path FILE"
        raise MiniF2FNotFound(f"MiniF2F file not found: {source}; {hint}")
    theorems = load_theorems(source)
    for theorem in theorems:
        if theorem.split not in ("valid", "test"):
            raise DatasetError(f"{source}: {theorem.name}: split must be 'valid' or 'test', got {theorem.split!r}")
    if split is not None:
        theorems = tuple(t for t in theorems if t.split == split)
    return theorems


def load_known_issues(path: Path | str) -> dict[str, KnownIssue]:
    """Read ``known_issues.json`` into a name -> issue mapping."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {
            item["name"]: KnownIssue(
                name=item["name"],
                split=item["split"],
                affects=tuple(item.get("affects", ())),
                issue=item["issue"],
                confidence=item.get("confidence", ""),
            )
            for item in data["issues"]
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a known-issues file ({exc})") from None


def _split_lean_file(text: str, where: str) -> tuple[str, str]:
    """Split an upstream ``.lean`` statement file into (header, statement without ``sorry``)."""
    match = re.search(r"^theorem\s", text, flags=re.MULTILINE)
    if not match:
        raise DatasetError(f"{where}: no theorem declaration")
    statement = re.sub(r"\s*sorry\s*$", "", text[match.start():].rstrip())
    if not statement.endswith(":= by"):
        raise DatasetError(f"{where}: statement does not end in ':= by sorry'")
    return text[: match.start()], statement


def theorems_from_archive(archive: bytes, *, source_tag: str) -> list[dict]:
    """Turn the upstream repository tarball into catalogue records (one per ``MiniF2F/{Valid,Test}/*.lean``)."""
    records = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 4 or parts[-3] != "MiniF2F" or parts[-2] not in _SPLIT_DIRS:
                continue
            if not parts[-1].endswith(".lean"):
                continue
            text = tar.extractfile(member).read().decode("utf-8")
            header, statement = _split_lean_file(text, member.name)
            records.append(
                {
                    "name": parts[-1][: -len(".lean")],
                    "split": _SPLIT_DIRS[parts[-2]],
                    "header": header,
                    "formal_statement": statement,
                    "informal_statement": None,
                    "source": f"{source_tag}:{'/'.join(parts[-3:])}",
                }
            )
    return records


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def download_minif2f(
    destination: Path | None = None, *, fetch: Callable[[str], bytes] = _fetch
) -> Path:
    """Download the pinned upstream statements, check there are 244 per split, and write
    the catalogue JSONL atomically. Returns its path; a no-op when it already exists."""
    target = Path(destination) if destination is not None else default_minif2f_path()
    if target.is_file():
        return target
    try:
        archive = fetch(_ARCHIVE_URL)
    except OSError as exc:
        raise MiniF2FNotFound(
            f"cannot download MiniF2F from {MINIF2F_REPO}@{MINIF2F_COMMIT[:12]} ({exc}); "
            "offline, pass --path FILE pointing at a minif2f_lean4.jsonl copy"
        ) from None
    records = theorems_from_archive(archive, source_tag=f"{MINIF2F_REPO}@{MINIF2F_COMMIT[:12]}")
    counts = {split: sum(r["split"] == split for r in records) for split in ("valid", "test")}
    if counts != {"valid": MINIF2F_SPLIT_SIZE, "test": MINIF2F_SPLIT_SIZE}:
        raise DatasetError(f"downloaded MiniF2F has {counts}, expected {MINIF2F_SPLIT_SIZE} per split")
    write_text_atomically(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return target

