"""Test doubles for search, for this project's tests and for anyone writing a policy:
a scripted environment over a hand-made state graph, and proposers answering from a
table, at random (seeded per query) or through a recorder."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Sequence

from lean_env.base import EnvironmentBase
from lean_env.types import (
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepResult,
    TacticError,
    Theorem,
    Verdict,
)
from search.graph import ProofGraph
from search.proposer import Candidate, Query

__all__ = [
    "DONE",
    "CRASH",
    "WORLD",
    "VOCAB",
    "ScriptedEnv",
    "TableProposer",
    "RandomProposer",
    "RecordingProposer",
    "scripted_theorem",
    "structure",
]

DONE = "<done>"
"""A ``ScriptedEnv`` move target meaning the proof is complete."""
CRASH = "<crash>"
"""A ``ScriptedEnv`` move target meaning the state is lost (an environment crash)."""


class ScriptedEnv(EnvironmentBase):
    """Each state is one goal; ``moves[goal][tactic]`` is the next goal, ``DONE`` (proof
    complete) or ``CRASH`` (state lost). Any other tactic is a ``TacticError``. ``verify``
    replays the proof lines from the start goal, unless ``verify_ok`` forces a verdict.
    A step from a goal in ``gates`` first waits for that event (ordering tests without timing)."""

    name = "scripted"

    def __init__(
        self,
        moves: dict[str, dict[str, str]],
        *,
        start: str | dict[str, str] = "root",
        delay: float = 0.0,
        verify_ok: bool | None = None,
        fail_start: frozenset[str] = frozenset(),
        gates: dict[str, asyncio.Event] | None = None,
    ):
        self.moves = moves
        self.start_goal = start
        self.delay = delay
        self.verify_ok = verify_ok
        self.fail_start = fail_start
        self.gates = gates or {}
        self.steps = 0
        self.verifies = 0

    def _start_goal(self, theorem: Theorem) -> str:
        return self.start_goal if isinstance(self.start_goal, str) else self.start_goal[theorem.name]

    async def start(self, theorem: Theorem) -> ProofState:
        if theorem.name in self.fail_start:
            raise RuntimeError(f"cannot start {theorem.name}")
        goal = self._start_goal(theorem)
        return ProofState((goal,), handle=goal)

    def _apply(self, goal: str, tactic: str) -> StepResult:
        target = self.moves.get(goal, {}).get(tactic)
        if target is None:
            return TacticError(f"unknown tactic {tactic!r} at {goal!r}")
        if target == DONE:
            return ProofComplete()
        if target == CRASH:
            return EnvCrash("scripted crash", state_lost=True)
        return NewState(ProofState((target,), handle=target))

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        self.steps += 1
        if state.handle in self.gates:
            await self.gates[state.handle].wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._apply(state.handle, tactic)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        self.verifies += 1
        if self.verify_ok is not None:
            return Verdict(theorem.name, proof, self.verify_ok, self.name, "forced")
        goal: str | None = self._start_goal(theorem)
        for line in proof.splitlines():
            result = self._apply(goal, line.strip()) if goal is not None else TacticError("no goals")
            if not isinstance(result, (NewState, ProofComplete)):
                return Verdict(theorem.name, proof, False, self.name, f"line {line!r} failed")
            goal = result.state.handle if isinstance(result, NewState) else None
        ok = goal is None
        return Verdict(theorem.name, proof, ok, self.name, "" if ok else "goals remain")


@dataclass
class TableProposer:
    """Answers from a fixed table ``goal -> [(tactic, logprob), ...]``, best first."""

    table: dict[str, list[tuple[str, float]]]
    kind: str = "tactic"
    name: str = "table"
    calls: list[int] = field(default_factory=list)

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        self.calls.append(len(queries))
        return [
            [Candidate(t, lp, len(t.split())) for t, lp in self.table.get(q.state.goals[0], [])[:k]] for q in queries
        ]


@dataclass
class RandomProposer:
    """Samples ``k`` distinct tactics from ``vocab`` (plus ``focus[goal]``, a cheap stand-in
    for a model that knows the relevant moves) with ``random.Random(query.seed)``:
    deterministic per query, whatever batch it lands in."""

    vocab: Sequence[str]
    focus: dict[str, Sequence[str]] = field(default_factory=dict)
    kind: str = "tactic"
    name: str = "random"

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        out = []
        for q in queries:
            rng = random.Random(q.seed)
            vocab = list(dict.fromkeys([*self.focus.get(q.state.goals[0], ()), *self.vocab]))
            picks = rng.sample(vocab, min(k, len(vocab)))
            scored = sorted(((t, -rng.random() * 3) for t in picks), key=lambda p: -p[1])
            out.append([Candidate(t, lp, rng.randint(1, 5)) for t, lp in scored])
        return out


class RecordingProposer:
    """Wraps a proposer, recording every call's batch size; optionally sleeps per call
    (a slow model) and raises for queries of the theorems named in ``fail_for``."""

    def __init__(self, inner, *, seconds: float = 0.0, fail_for: frozenset[str] = frozenset()):
        self.inner = inner
        self.name = f"recording({inner.name})"
        self.kind = inner.kind
        self.seconds = seconds
        self.fail_for = fail_for
        self.sizes: list[int] = []
        self._lock = threading.Lock()

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        with self._lock:
            self.sizes.append(len(queries))
        if self.seconds:
            time.sleep(self.seconds)
        bad = {q.theorem.name for q in queries} & self.fail_for
        if bad:
            raise RuntimeError(f"model failure on {sorted(bad)}")
        return self.inner.propose(queries, k)


def scripted_theorem(name: str = "t") -> Theorem:
    """A theorem the scripted environment can start (the statement is never parsed)."""
    return Theorem(name=name, statement=f"theorem {name} : True := by")


WORLD = {
    "root": {"intro a": "A", "intro b": "B", "skip": "root", "crash": CRASH},
    "A": {"intro b": "AB", "back": "root"},
    "B": {"intro a": "AB"},
    "AB": {"split": "L"},
    "L": {"done": DONE},
}
"""A small state graph with a transposition (A/B -> AB), a self loop, a cycle and a crash."""

VOCAB = ("intro a", "intro b", "skip", "back", "split", "done", "simp", "ring", "bad")
"""Tactics a random proposer draws from: the world's moves plus junk (no crash)."""


def structure(graph: ProofGraph) -> dict:
    """A graph's JSON without timings, for determinism comparisons."""
    data = json.loads(graph.to_json())
    for edge in data["edges"]:
        edge.pop("seconds")
        for alt in edge["alternatives"]:
            alt.pop("seconds")
    return data
