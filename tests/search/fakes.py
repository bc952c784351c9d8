"""Test doubles for search: a scripted environment over a hand-made state graph and proposers."""

from __future__ import annotations

import asyncio
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
from search.proposer import Candidate, Query

DONE = "<done>"
CRASH = "<crash>"


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


def theorem(name: str = "t") -> Theorem:
    """A theorem the scripted environment can start (the statement is never parsed)."""
    return Theorem(name=name, statement=f"theorem {name} : True := by")


def run(coro):
    """Run a coroutine to completion (tests are plain functions)."""
    return asyncio.run(coro)


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


def structure(graph) -> dict:
    """A graph's JSON without timings, for determinism comparisons."""
    import json

    data = json.loads(graph.to_json())
    for edge in data["edges"]:
        edge.pop("seconds")
        for alt in edge["alternatives"]:
            alt.pop("seconds")
    return data


class OracleProposer:
    """A model stand-in for sandbox theorems: at a state on a theorem's reference path it
    proposes the reference tactic with probability ``hit``, at a geometrically distributed
    rank (demoted one place with probability ``demote`` at each rank), among distractors
    drawn from every reference tactic of the set. With ``kind="proof"`` it
    samples the reference proof (probability ``hit``) or a copy missing one line."""

    def __init__(self, theorems, *, hit: float = 1.0, demote: float = 0.5, kind: str = "tactic"):
        from propsandbox import SandboxEnvironment

        env = SandboxEnvironment()
        self.name = f"oracle-{kind}"
        self.kind = kind
        self.hit = hit
        self.demote = demote
        self.vocab = sorted({t for g in theorems for t in g.proof})
        self.proofs = {g.theorem.name: g.proof for g in theorems}
        self.next: dict[str, str] = {}
        for g in theorems:
            state = env.start_sync(g.theorem)
            for tactic in g.proof:
                self.next.setdefault(state.key, tactic)
                result = env.step_sync(state, tactic)
                if not isinstance(result, NewState):
                    break
                state = result.state

    def value(self, state: ProofState) -> float:
        """A value-model stand-in: states on a reference path score above all others."""
        from search.value import goal_heuristic

        return 1.0 if state.key in self.next else 0.5 * goal_heuristic(state)

    def _tactics(self, rng: random.Random, query: Query, k: int) -> list[str]:
        reference = self.next.get(query.state.key)
        picks = rng.sample([t for t in self.vocab if t != reference], min(k, len(self.vocab) - 1))
        if reference is not None and rng.random() < self.hit:
            rank = 0
            while rng.random() < self.demote:
                rank += 1
            picks.insert(rank, reference)
        return picks[:k]

    def _proofs(self, rng: random.Random, query: Query, k: int) -> list[str]:
        proof = self.proofs[query.theorem.name]
        texts = []
        for _ in range(k):
            lines = list(proof)
            if rng.random() >= self.hit:
                del lines[rng.randrange(len(lines))]
            texts.append("\n".join(lines))
        return list(dict.fromkeys(texts))

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        out = []
        for q in queries:
            rng = random.Random(q.seed)
            texts = self._tactics(rng, q, k) if self.kind == "tactic" else self._proofs(rng, q, k)
            out.append([Candidate(t, -0.4 * rank - rng.random() * 0.1, len(t.split())) for rank, t in enumerate(texts)])
        return out
