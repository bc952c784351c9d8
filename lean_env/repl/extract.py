"""(state, tactic, next state) records from whole proofs, through the REPL.

The proof is compiled once with ``allTactics``; each entry of the response's ``tactics``
field carries the state *before* the tactic (one string) and a ``proofState`` id for it.
There is no "goals after" field, so each tactic is run once more on its own state in
tactic mode to read the state after it. This is how the whole-proof files in
``tactic_data`` become training pairs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from lean_env.errors import LeanEnvError
from lean_env.hygiene import check_tactic
from lean_env.repl.env import ReplEnvironment
from lean_env.repl.process import WorkerFault
from lean_env.repl.protocol import (
    CommandRequest,
    CommandResponse,
    ProtocolError,
    TacticInfo,
    TacticRequest,
    single_tactic,
    to_step_result,
)
from lean_env.repl.verify import compile_problem
from lean_env.types import NewState, ProofComplete, Theorem

__all__ = ["StepRecord", "ExtractedProof", "ExtractionError", "replayable", "extract_steps", "extract_jsonl"]

NO_GOALS = "no goals"


class ExtractionError(LeanEnvError):
    """A proof could not be compiled or replayed for extraction."""


@dataclass(frozen=True)
class StepRecord:
    """One tactic application: pretty-printed state before, tactic text, state after."""

    state_before: str
    tactic: str
    state_after: str


@dataclass(frozen=True)
class ExtractedProof:
    """The steps of one JSONL record, or why there are none."""

    name: str
    steps: tuple[StepRecord, ...] = ()
    error: str = ""


def replayable(response: CommandResponse) -> tuple[TacticInfo, ...]:
    """``tactics`` entries worth a record: a real state before, and not a ``sorry``."""
    return tuple(t for t in response.tactics if t.goals != NO_GOALS and t.tactic.strip() not in ("sorry", "admit"))


async def extract_steps(env: ReplEnvironment, theorem: Theorem, proof: str) -> list[StepRecord]:
    """Compile ``proof`` for ``theorem`` with ``allTactics`` and rerun each tactic on its
    state to read the state after it; entries whose rerun fails are left out."""
    hygiene = check_tactic(proof, allow_native_decide=env.config.allow_native_decide)
    if not hygiene.ok:
        raise ExtractionError(f"proof rejected ({hygiene.reason}): {hygiene.detail}")
    text = dataclasses.replace(theorem, header="").with_proof(hygiene.text)
    records = []
    async with env.session(theorem) as worker:
        try:
            command = CommandRequest(text, env=worker.header_env, all_tactics=True)
            compiled = await worker.request(command, env.config.limits.verify_timeout_s)
            problem = compile_problem(compiled)
            if problem:
                raise ExtractionError(problem)
            assert isinstance(compiled, CommandResponse)
            for info in replayable(compiled):
                request = TacticRequest(single_tactic(info.tactic), info.proof_state)
                response = await worker.request(request, env.config.limits.step_timeout_s)
                result = to_step_result(response, handle_for=lambda ps: ps)
                if isinstance(result, (NewState, ProofComplete)):
                    after = result.state.pp if isinstance(result, NewState) else NO_GOALS
                    records.append(StepRecord(info.goals, info.tactic, after))
        except (WorkerFault, ProtocolError) as exc:
            raise ExtractionError(f"REPL worker failed: {exc}") from exc
    return records


async def extract_jsonl(env: ReplEnvironment, path: Path, *, header: str) -> list[ExtractedProof]:
    """Steps of every ``{name, formal_statement, proof}`` line of ``path`` (the
    ``tactic_data`` format), all theorems using ``header``; failures are recorded."""
    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(await asyncio.gather(*(_extract_record(env, record, header) for record in records)))


async def _extract_record(env: ReplEnvironment, record: dict, header: str) -> ExtractedProof:
    name = str(record.get("name", ""))
    if "proof" not in record or "formal_statement" not in record:
        return ExtractedProof(name, error="record has no 'proof' or 'formal_statement' field")
    theorem = Theorem(name=name, statement=record["formal_statement"], header=header)
    try:
        steps = await extract_steps(env, theorem, record["proof"])
    except LeanEnvError as exc:
        return ExtractedProof(name, error=str(exc))
    return ExtractedProof(name, tuple(steps))
