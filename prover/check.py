"""Checking proofs users already have: reading them, and turning verdicts into records.

Inputs are a ``.lean`` file (every ``theorem``/``lemma`` in it, or one by name) or JSONL
of model outputs in the shapes DeepSeek-Prover, Goedel-Prover and Kimina use:
``{name, formal_statement, proof}`` (optionally ``header``) or ``{name, code}`` (also
``full_code``: a whole Lean file). Everything read is untrusted: a proof must pass the
tactic rules and its header and statement the context rules
(``lean_env.hygiene.check_context``) before Lean sees it. Each proof is then judged by
``Environment.verify`` through ``lean_env.batch.verify_batch``, the same judge as search.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterable

from lean_env import Environment, StatementError, Theorem, Verdict
from lean_env.batch import ProofJob, verify_batch
from lean_env.hygiene import check_context, check_tactic, normalise
from lean_env.source import Declaration, SourceFile, split_imports, tactic_statement
from prover.data import DatasetError
from prover.data.jsonl import read_jsonl
from prover.runs import CheckRecord

__all__ = ["CheckItem", "read_inputs", "read_items", "items_from_lean_file", "items_from_jsonl", "check_items", "record_of"]

_POSITION = re.compile(r"^(\w+) (\d+):(\d+): ")


@dataclass(frozen=True)
class CheckItem:
    """One proof to check, or why it cannot be: ``theorem`` and ``proof`` are set when
    it can; otherwise ``status`` (``failed`` or ``skipped``) and ``reason`` say why.
    ``line`` is where the statement starts in ``source`` (messages are shifted there)."""

    name: str
    index: int
    source: str
    theorem: Theorem | None = None
    proof: str | None = None
    status: str = ""
    failure: str = ""
    reason: str = ""
    line: int = 1

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.index)


def _item(source: SourceFile, decl: Declaration, *, label: str, where: str, allow_native_decide: bool) -> CheckItem:
    """The item of ``decl``, with its minimal header (``SourceFile.header``) as context."""
    if not decl.tactic:
        return CheckItem(label, 0, where, status="skipped", reason="term-mode proof (only ':= by' tactic proofs are checked)")
    header = source.header(decl, minimal=True)
    context = check_context(header + decl.statement, allow_native_decide=allow_native_decide)
    if not context.ok:
        return CheckItem(label, 0, where, status="failed", failure="rejected",
                         reason=f"context rejected ({context.reason}): {context.detail}")
    proof = check_tactic(decl.proof or "", allow_native_decide=allow_native_decide)
    if not proof.ok:  # what verify refuses first on Lean; the same gate for every checker
        return CheckItem(label, 0, where, status="failed", failure="rejected", reason=f"rejected ({proof.reason}): {proof.detail}")
    theorem = Theorem(name=decl.name, statement=decl.statement, header=header, source=where)
    return CheckItem(label, 0, where, theorem=theorem, proof=proof.text, line=decl.statement_line)


def _indexed(items: Iterable[CheckItem]) -> list[CheckItem]:
    """``items`` with ``index`` counting earlier items of the same name."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        seen[item.name] = seen.get(item.name, -1) + 1
        out.append(dataclasses.replace(item, index=seen[item.name]))
    return out


def items_from_lean_file(path: Path, text: str, *, theorem: str | None = None, allow_native_decide: bool = False) -> list[CheckItem]:
    """Every ``theorem``/``lemma`` of a ``.lean`` file, each with the file before it as
    context (minus earlier theorems it does not use), or only ``theorem`` (a missing or
    term-mode one is a ``DatasetError``)."""
    try:
        source = SourceFile(text)
    except StatementError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    decls = source.declarations
    if theorem is not None:
        decl = source.find(theorem)
        if decl is None:
            raise DatasetError(f"{path}: no theorem named {theorem!r}")
        if not decl.tactic:
            raise DatasetError(f"{path}:{decl.line}: theorem {theorem!r} has no ':= by' (only tactic proofs are checked)")
        decls = (decl,)
    if not decls:
        raise DatasetError(f"{path}: no theorem or lemma to check")
    return _indexed(_item(source, d, label=d.name, where=f"{path}:{d.line}", allow_native_decide=allow_native_decide) for d in decls)


def _record_code(record: dict, default_header: str, where: str) -> str:
    """A JSONL record as Lean source: ``code``/``full_code``, or header, statement and proof."""
    if isinstance(record.get("formal_statement"), str) and isinstance(record.get("proof"), str):
        statement = tactic_statement(record["formal_statement"])
        header = record.get("header") if isinstance(record.get("header"), str) else default_header
        proof = "\n".join("  " + line for line in normalise(record["proof"]).split("\n"))
        return f"{header.rstrip()}\n\n{statement}\n{proof}\n" if header.strip() else f"{statement}\n{proof}\n"
    code = record.get("code", record.get("full_code"))
    if not isinstance(code, str):
        raise DatasetError(f"{where}: expected 'formal_statement' and 'proof', or 'code' (strings)")
    return code if split_imports(code)[0] else f"{default_header.rstrip()}\n\n{code}"


def _record_item(record: dict, *, default_header: str, where: str, allow_native_decide: bool) -> CheckItem:
    """The item of one JSONL record: the declaration named ``name`` in its code (the
    last one when unnamed); helper lemmas before it are its context."""
    name = record.get("name") if isinstance(record.get("name"), str) else None
    try:
        source = SourceFile(_record_code(record, default_header, where))
    except StatementError as exc:
        return CheckItem(name or "?", 0, where, status="failed", failure="statement", reason=str(exc))
    decl = (source.find(name) if name else None) or (source.declarations[-1] if source.declarations else None)
    if decl is None:
        return CheckItem(name or "?", 0, where, status="failed", failure="statement", reason="no theorem or lemma in the record")
    item = _item(source, decl, label=name or decl.name, where=where, allow_native_decide=allow_native_decide)
    # positions: in the code, or relative to statement + proof for the formal_statement shape
    return item if "formal_statement" not in record else dataclasses.replace(item, line=1)


def items_from_jsonl(path: Path, *, default_header: str, allow_native_decide: bool = False) -> list[CheckItem]:
    """One item per line of a JSONL file of proofs (see the module docstring for shapes)."""
    items = [_record_item(record, default_header=default_header, where=f"{path}:{number}", allow_native_decide=allow_native_decide)
             for number, record in read_jsonl(path)]
    if not items:
        raise DatasetError(f"{path}: no proofs to check")
    return _indexed(items)


def read_items(path: Path, *, theorem: str | None, default_header: str, allow_native_decide: bool = False) -> list[CheckItem]:
    """The items of a ``.lean`` or ``.jsonl`` input (``DatasetError`` for a bad input)."""
    if path.suffix == ".lean":
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path} is not valid UTF-8 (bad byte at offset {exc.start})") from None
        return items_from_lean_file(path, text, theorem=theorem, allow_native_decide=allow_native_decide)
    if path.suffix == ".jsonl":
        if theorem is not None:
            raise DatasetError("--theorem selects a theorem of a .lean file; JSONL records are all checked")
        return items_from_jsonl(path, default_header=default_header, allow_native_decide=allow_native_decide)
    raise DatasetError(f"{path}: expected a .lean or .jsonl file")


def read_inputs(paths: Iterable[Path], *, theorem: str | None, default_header: str, allow_native_decide: bool = False) -> list[CheckItem]:
    """The items of every input in order, ``index`` counted across all of them."""
    return _indexed(item for path in paths for item in read_items(
        Path(path), theorem=theorem, default_header=default_header, allow_native_decide=allow_native_decide))


def _shift(message: str, offset: int) -> str:
    """``severity L:C: text`` with ``L`` moved from the checked command to the source."""
    match = _POSITION.match(message)
    if not match or not offset:
        return message
    return f"{match.group(1)} {int(match.group(2)) + offset}:{match.group(3)}: {message[match.end():]}"


def record_of(item: CheckItem, verdict: Verdict | None) -> CheckRecord:
    """The stored verdict on ``item`` (``verdict`` is ``None`` when it was never checked)."""
    if verdict is None:
        return CheckRecord(name=item.name, index=item.index, status=item.status, source=item.source,
                           failure=item.failure, reason=item.reason)
    return CheckRecord(
        name=item.name,
        index=item.index,
        status="ok" if verdict.ok else "failed",
        source=item.source,
        checker=verdict.checker,
        failure="" if verdict.ok else verdict.failure or "error",
        reason=verdict.reason,
        messages=tuple(_shift(m, item.line - 1) for m in verdict.messages),
        axioms=verdict.axioms,
        seconds=round(verdict.seconds, 3),
    )


async def check_items(env: Environment, items: Iterable[CheckItem], *, concurrency: int) -> AsyncIterator[CheckRecord]:
    """A record for every item, as each is decided: items that cannot be checked first,
    then verdicts in the order they finish (``verify_batch`` over ``env``)."""
    items = list(items)
    for item in items:
        if item.theorem is None:
            yield record_of(item, None)
    by_key = {item.key: item for item in items if item.theorem is not None}
    jobs = [ProofJob(key, item.theorem, item.proof or "") for key, item in by_key.items()]
    async for job, verdict in verify_batch(env, jobs, concurrency=concurrency):
        yield record_of(by_key[job.key], verdict)
