"""(state, tactic, next state) records from whole proofs, through the REPL.

The proof is compiled once with ``allTactics``; each entry of the response's ``tactics``
field carries a ``proofState`` id for the state *before* the tactic. Its ``goals``
string is not used as the state: Lean builds it with ``ppGoals``, which separates goals
by one ``\n`` (and older REPLs flatten it to one line), while tactic mode, LeanDojo and
every prompt separate goals by a blank line. So both states are read in tactic mode:
``skip`` on the entry's state gives the state before, exactly as a search sees it, and
the tactic itself gives the state after. This is how the whole-proof files in
``tactic_data`` become training pairs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from lean_env.errors import LeanEnvError
from lean_env.hygiene import check_tactic, single_tactic
from lean_env.repl.env import ReplEnvironment
from lean_env.repl.pool import Worker
from lean_env.repl.process import WorkerFault
from lean_env.repl.protocol import (
    CommandRequest,
    CommandResponse,
    ProtocolError,
    TacticInfo,
    TacticRequest,
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


async def _tactic_state(env: ReplEnvironment, worker: Worker, proof_state: int, tactic: str) -> str | None:
    """The state after ``tactic`` on ``proof_state`` as tactic mode prints it (``no goals``
    when solved), ``None`` when the tactic fails there."""
    response = await worker.request(TacticRequest(single_tactic(tactic), proof_state), env.config.limits.step_timeout_s)
    result = to_step_result(response, handle_for=lambda ps: ps)
    if isinstance(result, NewState):
        return result.state.pp
    return NO_GOALS if isinstance(result, ProofComplete) else None


async def extract_steps(env: ReplEnvironment, theorem: Theorem, proof: str) -> list[StepRecord]:
    """Compile ``proof`` for ``theorem`` with ``allTactics`` and read each entry's state
    before (``skip``) and after (the tactic) in tactic mode; entries whose rerun fails
    are left out."""
    hygiene = check_tactic(proof, allow_native_decide=env.config.allow_native_decide)
    if not hygiene.ok:
        raise ExtractionError(f"proof rejected ({hygiene.reason}): {hygiene.detail}")
    text = dataclasses.replace(theorem, header="").with_proof(hygiene.text)
    records = []
    async with env.session(theorem) as worker:
        try:
            command = CommandRequest(text, env=await env.context_env(worker, theorem), all_tactics=True)
            compiled = await worker.request(command, env.config.limits.verify_timeout_s)
            _, problem = compile_problem(compiled)
            if problem:
                raise ExtractionError(problem)
            assert isinstance(compiled, CommandResponse)
            for info in replayable(compiled):
                before = await _tactic_state(env, worker, info.proof_state, "skip")
                after = await _tactic_state(env, worker, info.proof_state, info.tactic)
                if before not in (None, NO_GOALS) and after is not None:
                    records.append(StepRecord(before, info.tactic, after))
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
