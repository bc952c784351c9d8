"""Measurements of one tactic model on held-out sandbox theorems, through the agent API.

* ``rollouts``: successes of ``n`` independent step rollouts per theorem (``Rollouts(n=1)``
  searches, attempt seeds by the one seed rule), so pass@N uses the unbiased estimator.
* ``confidence``: at each state of the reference proofs, the distinct tactics among
  ``samples`` draws with their exact probabilities: top-1 probability, entropy of that
  distribution (unseen mass lumped as one outcome, so a lower bound), and whether the top
  tactic is wrong (fails, or leads to a state that is not classically valid).
* ``search``: one best-first or beam search per theorem under a sample budget, recording
  the samples spent when the proof was found (a search's order does not depend on its
  budget, so it is solved at every budget of at least that).
"""

from __future__ import annotations

import asyncio
import math
from typing import Mapping, Sequence

from lean_env import NewState, ProofComplete, ProofState, Theorem
from prover import Agent, Beam, BestFirst, Budget, ProverConfig, Rollouts, load_dataset
from prover.data import Dataset
from propsandbox import SandboxEnvironment, load_split, provable
from search import Proposer, Query, SchedulerConfig

__all__ = ["spread", "test_theorems", "reference_states", "mean_proof_length", "rollouts", "confidence", "search", "best_first_env_calls"]

WIDE = ProverConfig(scheduler=SchedulerConfig(max_batch=256, max_concurrent=256))


def spread(items: Sequence, count: int) -> list:
    """``count`` items evenly spaced over ``items`` (the sandbox splits are ordered by tier)."""
    count = min(count, len(items))
    return [items[(i * len(items)) // count] for i in range(count)]


def test_theorems(count: int) -> Dataset:
    """``count`` held-out theorems spread over sandbox:test."""
    return load_dataset("sandbox:test").spread(count)


def reference_states(theorems: Sequence[Theorem]) -> list[tuple[Theorem, ProofState]]:
    """Every state along the reference proofs of ``theorems`` (sandbox:test)."""
    proofs = {g.theorem.name: g.proof for g in load_split("test")}

    async def replay() -> list[tuple[Theorem, ProofState]]:
        out = []
        async with SandboxEnvironment() as env:
            for theorem in theorems:
                state = await env.start(theorem)
                for tactic in proofs[theorem.name]:
                    out.append((theorem, state))
                    result = await env.step(state, tactic)
                    if not isinstance(result, NewState):
                        break
                    state = result.state
        return out

    return asyncio.run(replay())


def mean_proof_length(theorems: Sequence[Theorem]) -> float:
    """Mean number of steps of the reference proofs of ``theorems`` (sandbox:test)."""
    lengths = {g.theorem.name: len(g.proof) for g in load_split("test")}
    return sum(lengths[t.name] for t in theorems) / max(1, len(theorems))


def rollouts(proposer: Proposer, theorems: Dataset, *, n: int, max_depth: int, seed: int) -> dict[str, int]:
    """Successful rollouts out of ``n`` per theorem."""
    agent = Agent(env=SandboxEnvironment(), proposer=proposer, config=WIDE)
    run = agent.run(theorems, policy=Rollouts(n=1, max_depth=max_depth), budget=Budget(), attempts=n, seed=seed)
    return {name: sum(r.proved for r in group) for name, group in run.by_theorem().items()}


def confidence(proposer: Proposer, states: Sequence[tuple[Theorem, ProofState]], *, samples: int, seed: int) -> dict[str, float]:
    """Mean top-1 probability, mean entropy (nats, lower bound), share of states whose top
    tactic is wrong, and share where it is wrong with probability above 0.9."""
    queries = [Query(theorem=t, state=s, seed=seed * 1_000_003 + i) for i, (t, s) in enumerate(states)]
    found = proposer.propose(queries, samples)
    env = SandboxEnvironment()
    tops, entropies, wrong, confident_wrong = [], [], 0, 0
    for query, cands in zip(queries, found):
        probs = [math.exp(c.logprob) for c in cands]
        unseen = max(0.0, 1.0 - sum(probs))
        entropies.append(-sum(p * math.log(p) for p in (*probs, unseen) if p > 0))
        top = probs[0] if probs else 0.0
        tops.append(top)
        bad = not cands or not _sound(env, query.state, cands[0].text)
        wrong += bad
        confident_wrong += bad and top > 0.9
    count = max(1, len(queries))
    return {"top1": sum(tops) / count, "entropy": sum(entropies) / count, "wrong_top": wrong / count,
            "confident_wrong": confident_wrong / count, "states": len(queries)}


def _sound(env: SandboxEnvironment, state: ProofState, tactic: str) -> bool:
    result = env.step_sync(state, tactic)
    return isinstance(result, ProofComplete) or (isinstance(result, NewState) and provable(result.state))


def search(proposer: Proposer, theorems: Dataset, *, policy: str, k: int, samples: int, max_depth: int,
           seed: int) -> dict[str, float | None]:
    """Samples spent when each theorem was proved (``None``: not proved within ``samples``)."""
    chosen = BestFirst(k=k) if policy == "best-first" else Beam(width=k // 2, k=k, max_depth=max_depth)
    agent = Agent(env=SandboxEnvironment(), proposer=proposer, config=WIDE)
    run = agent.run(theorems, policy=chosen, budget=Budget(max_samples=samples), attempts=1, seed=seed)
    return {r.theorem: (r.spent.get("samples", 0) if r.proved else None) for r in run.records}


def best_first_env_calls(proposer: Proposer, theorems: Dataset, *, k: int, env_calls: int) -> Mapping[str, float]:
    """Best-first under an env-call budget: theorems proved and the mean env calls and
    samples spent per search."""
    agent = Agent(env=SandboxEnvironment(), proposer=proposer, config=ProverConfig(scheduler=SchedulerConfig(max_concurrent=16)))
    run = agent.run(theorems, policy=BestFirst(k=k), budget=Budget(max_env_calls=env_calls), attempts=1)
    count = max(1, len(run.records))
    return {"proved": len(run.solved), "theorems": len(theorems.theorems),
            "env_calls": sum(r.spent.get("env_calls", 0) for r in run.records) / count,
            "samples": sum(r.spent.get("samples", 0) for r in run.records) / count}
