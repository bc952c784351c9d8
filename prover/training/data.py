"""Training data: proof traces from LeanDojo, REPL step records, whole-proof files and the sandbox.

Everything becomes a ``ProofTrace`` (the steps of one proof, each a prompt ``Query`` and
its target text): step-level losses use the steps, proof-level DCO the whole trace.
Test splits are refused, so a benchmark can never leak into training.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from lean_env.types import NewState, ProofComplete, ProofState, Theorem
from prover.data.datasets import parse_spec
from prover.data.jsonl import DatasetError, read_jsonl
from prover.data.minif2f import default_minif2f_path, load_minif2f
from search.proposer import Query

__all__ = [
    "StepExample",
    "ProofTrace",
    "TestSplitRefused",
    "refuse_test_split",
    "trace_from_records",
    "load_leandojo",
    "load_whole_proofs",
    "sandbox_traces",
    "load_training_data",
]

class TestSplitRefused(DatasetError):
    """Training data comes from a test split (a user mistake: it would leak the benchmark)."""

    __test__ = False  # not a pytest test class despite the name


@dataclass(frozen=True)
class StepExample:
    """One training pair: the prompt's ``query`` and the ``target`` tactic (or whole proof)."""

    query: Query
    target: str


@dataclass(frozen=True)
class ProofTrace:
    """The steps of one proof, in order; proof-level DCO weights them as one unit."""

    name: str
    steps: tuple[StepExample, ...]


def refuse_test_split(split: str | None, where: str) -> None:
    """Raise ``TestSplitRefused`` when ``split`` names a test split (the one rule for every training source)."""
    if split is not None and split.strip().lower() == "test":
        raise TestSplitRefused(f"{where}: refusing to train on a test split")


def _field(record: Any, name: str) -> str:
    value = record[name] if isinstance(record, Mapping) else getattr(record, name)
    if not isinstance(value, str):
        raise DatasetError(f"step record field {name!r} must be a string, got {type(value).__name__}")
    return value


def trace_from_records(theorem: Theorem, records: Iterable[Any]) -> ProofTrace:
    """A trace from step records in proof order: objects with ``state_before``, ``tactic`` and
    ``state_after`` attributes (``lean_env.repl.extract.StepRecord``) or dicts with those keys."""
    refuse_test_split(theorem.split, theorem.name)
    steps: list[StepExample] = []
    for record in records:
        _field(record, "state_after")
        query = Query(theorem=theorem, state=ProofState(goals=(_field(record, "state_before"),)),
                      history=tuple(s.target for s in steps))
        steps.append(StepExample(query=query, target=_field(record, "tactic")))
    return ProofTrace(name=theorem.name, steps=tuple(steps))


def load_leandojo(path: str | Path) -> tuple[ProofTrace, ...]:
    """Traced theorems in the LeanDojo Benchmark 4 layout: a JSON list (or JSONL) of
    ``{full_name, theorem_statement?, traced_tactics: [{tactic, state_before, state_after}]}``."""
    path = Path(path)
    refuse_test_split(path.stem, str(path))
    if path.suffix == ".jsonl":
        items = [record for _, record in read_jsonl(path)]
    else:
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read {path}: {exc}") from None
    if not isinstance(items, list):
        raise DatasetError(f"{path}: expected a list of traced theorems")
    traces = []
    for item in items:
        try:
            theorem = Theorem(name=item["full_name"], statement=item.get("theorem_statement", ""),
                              source=item.get("file_path"), split=item.get("split"))
            tactics = item["traced_tactics"] if "traced_tactics" in item else item["tactics"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(f"{path}: traced theorem without {exc}") from None
        traces.append(trace_from_records(theorem, tactics))
    return tuple(t for t in traces if t.steps)


def _minif2f_test_names(catalogue: Path | None) -> frozenset[str]:
    source = catalogue or default_minif2f_path()
    return frozenset(t.name for t in load_minif2f(source, split="test")) if source.is_file() else frozenset()


def load_whole_proofs(path: str | Path, *, minif2f_catalogue: Path | None = None) -> tuple[ProofTrace, ...]:
    """Whole-proof JSONL (``{name, formal_statement, proof, header?, split?}``) as one-step traces.

    Records whose ``split`` is ``test``, or named after a MiniF2F test theorem when the
    MiniF2F catalogue is available, raise ``TestSplitRefused``.
    """
    test_names = _minif2f_test_names(minif2f_catalogue)
    traces = []
    for number, record in read_jsonl(Path(path)):
        where = f"{path}:{number}"
        try:
            name, statement, proof = record["name"], record["formal_statement"], record["proof"]
        except KeyError as exc:
            raise DatasetError(f"{where}: missing field {exc.args[0]!r}") from None
        refuse_test_split(record.get("split"), where)
        if name in test_names:
            raise TestSplitRefused(f"{where}: {name} is a MiniF2F test theorem; refusing to train on it")
        theorem = Theorem(name=name, statement=statement, header=record.get("header", ""), split=record.get("split"))
        query = Query(theorem=theorem, state=ProofState(goals=()))
        traces.append(ProofTrace(name=name, steps=(StepExample(query=query, target=proof),)))
    return tuple(traces)


async def _replay(env: Any, generated: Any) -> ProofTrace:
    state = await env.start(generated.theorem)
    steps: list[StepExample] = []
    for tactic in generated.proof:
        steps.append(StepExample(Query(theorem=generated.theorem, state=state, history=tuple(s.target for s in steps)), tactic))
        result = await env.step(state, tactic)
        if isinstance(result, NewState):
            state = result.state
        elif not isinstance(result, ProofComplete):
            raise DatasetError(f"{generated.theorem.name}: reference step {tactic!r} failed: {result}")
    return ProofTrace(name=generated.theorem.name, steps=tuple(steps))


def sandbox_traces(split: str) -> tuple[ProofTrace, ...]:
    """Traces of a sandbox split's reference proofs, replayed through ``SandboxEnvironment``."""
    from propsandbox import SandboxEnvironment, load_split, split_names

    refuse_test_split(split, f"sandbox split {split!r}")
    if split not in split_names():
        raise DatasetError(f"unknown sandbox split {split!r}; choose from {', '.join(split_names())}")

    async def replay_all() -> tuple[ProofTrace, ...]:
        async with SandboxEnvironment() as env:
            return tuple([await _replay(env, g) for g in load_split(split)])

    return asyncio.run(replay_all())


def load_training_data(source: str, *, minif2f_catalogue: Path | None = None) -> tuple[ProofTrace, ...]:
    """Traces from ``sandbox:<split>`` (the dataset spec syntax of ``bench``), a LeanDojo
    ``.json`` file, or a ``.jsonl`` file of whole proofs or LeanDojo traced theorems
    (recognised by their fields)."""
    if not source.startswith(("sandbox:", "minif2f:")) and not Path(source).is_file():
        raise DatasetError(f"training data not found: {source} (a file, or sandbox:<split>)")
    kind, arg = parse_spec(source)
    if kind == "sandbox":
        return sandbox_traces(arg)
    if kind == "minif2f":
        raise DatasetError(f"{source}: MiniF2F statements carry no proofs to train on; give a whole-proof .jsonl file")
    path = Path(arg)
    if path.suffix == ".jsonl":
        first = next((record for _, record in read_jsonl(path)), {})
        if "proof" in first:
            return load_whole_proofs(path, minif2f_catalogue=minif2f_catalogue)
    return load_leandojo(path)
