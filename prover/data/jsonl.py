"""Reading theorem files in JSONL, with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Literal

from lean_env.types import Theorem

__all__ = ["OnError", "DatasetError", "read_jsonl", "theorem_from_record", "load_theorems", "write_text_atomically"]

OnError = Literal["stop", "skip"]
"""What to do with a broken JSONL line: stop with an error, or skip it (and report it)."""


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a ``.partial`` sibling and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


class DatasetError(ValueError):
    """A dataset file is missing or malformed (a user input error)."""


def read_jsonl(
    path: Path, *, on_error: OnError = "stop", skipped: list[str] | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of ``path``.

    A broken line raises ``DatasetError`` naming it, or with ``on_error="skip"`` is
    recorded in ``skipped`` and passed over.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (UnicodeDecodeError, ValueError) as exc:
            problem = f"{path}:{number}: broken line ({exc.__class__.__name__}: {str(exc)[:80]})"
            if on_error == "stop":
                raise DatasetError(problem) from None
            if skipped is not None:
                skipped.append(problem)
            continue
        yield number, record


def theorem_from_record(record: dict, where: str) -> Theorem:
    """Build a ``Theorem`` from a catalogue record (``name``, ``formal_statement``, optional
    ``header``, ``informal_statement``, ``source``, ``split``)."""
    try:
        name, statement = record["name"], record["formal_statement"]
    except KeyError as exc:
        raise DatasetError(f"{where}: missing field {exc.args[0]!r}") from None
    if not isinstance(name, str) or not isinstance(statement, str):
        raise DatasetError(f"{where}: 'name' and 'formal_statement' must be strings")
    return Theorem(
        name=name,
        statement=statement,
        header=record.get("header") or "",
        informal=record.get("informal_statement"),
        source=record.get("source"),
        split=record.get("split"),
    )


def load_theorems(
    path: Path | str, *, on_error: OnError = "stop", skipped: list[str] | None = None
) -> tuple[Theorem, ...]:
    """Read a theorem JSONL file; theorem names must be unique."""
    theorems = [
        theorem_from_record(record, f"{path}:{line}")
        for line, record in read_jsonl(Path(path), on_error=on_error, skipped=skipped)
    ]
    seen: set[str] = set()
    for theorem in theorems:
        if theorem.name in seen:
            raise DatasetError(f"{path}: duplicate theorem name {theorem.name!r}")
        seen.add(theorem.name)
    return tuple(theorems)
