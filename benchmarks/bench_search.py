"""Search benchmarks: (a) engine overhead, (b) batching across concurrent searches.

(a) An instant environment (an unbounded tree of states, every step answered at once)
and an instant proposer (a fixed ranked tactic list): expansions per second of
best-first and beam, per wall second and per CPU second of the whole process. The
proposer is given both as an async ``ProposeFn`` awaited inline (the engine alone) and
as a blocking ``Proposer`` that ``run_search`` calls in a worker thread (engine plus one
thread round trip per proposer call).

(b) A proposer that costs a fixed ``--call-ms`` per call whatever the batch size (a GPU
forward pass): theorems per second with ``--theorems`` searches run concurrently through
the ``Scheduler`` versus one after another with ``run_search``. Each theorem is proved
after ``--depth`` best-first expansions.

Run: ``.venv/bin/python benchmarks/bench_search.py``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Sequence

from lean_env.base import EnvironmentBase
from lean_env.types import NewState, ProofComplete, ProofState, StepResult, TacticError, Theorem, Verdict
from search import Budget, Candidate, Query, Scheduler, SchedulerConfig, plan_jobs, resolve_policy, run_search


class InstantTreeEnv(EnvironmentBase):
    """States ``(depth, id)`` of an unbounded ``width``-ary tree; tactic ``t<j>`` goes to
    child ``j``. With ``proof_depth`` set, ``t0`` at that depth closes the proof."""

    name = "instant-tree"

    def __init__(self, width: int, proof_depth: int | None = None):
        self.width = width
        self.proof_depth = proof_depth

    async def start(self, theorem: Theorem) -> ProofState:
        return ProofState((f"{theorem.name} ⊢ d0 n0",), handle=(theorem.name, 0, 0))

    def _apply(self, handle: tuple[str, int, int], tactic: str) -> StepResult:
        name, depth, node = handle
        j = int(tactic[1:]) if tactic[1:].isdigit() else -1
        if not 0 <= j < self.width:
            return TacticError(f"unknown tactic {tactic}")
        if depth == self.proof_depth and j == 0:
            return ProofComplete()
        child = (name, depth + 1, node * self.width + j + 1)
        return NewState(ProofState((f"{name} ⊢ d{child[1]} n{child[2]}",), handle=child))

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        return self._apply(state.handle, tactic)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        handle: tuple | None = (theorem.name, 0, 0)
        for line in proof.splitlines():
            result = self._apply(handle, line) if handle else TacticError("no goals")
            handle = result.state.handle if isinstance(result, NewState) else None
            if isinstance(result, TacticError):
                break
        ok = handle is None and isinstance(result, ProofComplete)
        return Verdict(theorem.name, proof, ok, self.name)


class FixedProposer:
    """Ranked tactics ``t0, t1, ...`` (``t0`` by far the most probable); sleeps
    ``call_seconds`` per call whatever the batch size."""

    name = "fixed"
    kind = "tactic"

    def __init__(self, call_seconds: float = 0.0):
        self.call_seconds = call_seconds

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        if self.call_seconds:
            time.sleep(self.call_seconds)
        ranked = [Candidate(f"t{j}", -0.1 if j == 0 else -2.0 - j, 2) for j in range(k)]
        return [ranked for _ in queries]


class InlinePropose:
    """``FixedProposer`` as an async ``ProposeFn``: answered on the event loop, no thread."""

    name = "fixed-inline"
    kind = "tactic"

    def __init__(self) -> None:
        self.proposer = FixedProposer()

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return self.proposer.propose(queries, k)


def overhead(policy: str, params: dict, expansions: int, proposer: object) -> tuple[float, float]:
    """Expansions per wall second and per CPU second of one budget-bounded search."""
    env = InstantTreeEnv(width=params["k"])
    theorem = Theorem("bench", "theorem bench : True := by")
    search = run_search(
        theorem, env=env, proposer=proposer, policy=resolve_policy(policy, params), budget=Budget(max_expansions=expansions)
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = asyncio.run(search)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.status == "budget" and result.spent.expansions == expansions, result
    return expansions / wall, expansions / cpu


def batching(theorems: int, depth: int, call_ms: float) -> tuple[float, float, float]:
    """Theorems per second sequentially and concurrently, and the mean batch size."""
    env = InstantTreeEnv(width=4, proof_depth=depth - 1)
    proposer = FixedProposer(call_ms / 1000.0)
    policy = resolve_policy("best-first", dict(k=4))
    items = [Theorem(f"b{i}", f"theorem b{i} : True := by") for i in range(theorems)]

    async def sequential() -> None:
        for item in items:
            result = await run_search(item, env=env, proposer=proposer, policy=policy)
            assert result.status == "proved", result

    started = time.perf_counter()
    asyncio.run(sequential())
    one_by_one = theorems / (time.perf_counter() - started)

    scheduler = Scheduler(
        env=env, proposer=proposer, policy=policy, config=SchedulerConfig(max_batch=theorems, max_concurrent=theorems)
    )
    started = time.perf_counter()
    results = asyncio.run(scheduler.run(plan_jobs(items)))
    together = theorems / (time.perf_counter() - started)
    assert all(r.status == "proved" for r in results)
    return one_by_one, together, scheduler.stats().mean_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expansions", type=int, default=5000, help="expansions per overhead run")
    parser.add_argument("--k", type=int, default=8, help="tactics per expansion in the overhead runs")
    parser.add_argument("--theorems", type=int, default=32, help="concurrent searches in the batching run")
    parser.add_argument("--depth", type=int, default=8, help="expansions each batching theorem needs")
    parser.add_argument("--call-ms", type=float, default=20.0, help="fixed cost of one proposer call")
    args = parser.parse_args()

    print("(a) engine overhead: instant environment, instant proposer")
    print(f"    {args.expansions} expansions of k={args.k} tactics each, one search, budget-bounded")
    print(f"    {'policy':<12}{'proposer':<22}{'exp/s (wall)':>14}{'exp/s (CPU)':>14}")
    for policy, params in (("best-first", {"k": args.k}), ("beam", {"k": args.k, "width": 8, "max_depth": 10**6})):
        for label, proposer in (("inline ProposeFn", InlinePropose()), ("Proposer in thread", FixedProposer())):
            per_wall, per_cpu = overhead(policy, params, args.expansions, proposer)
            print(f"    {policy:<12}{label:<22}{per_wall:>14,.0f}{per_cpu:>14,.0f}")
    print()
    print(f"(b) batching: proposer costs {args.call_ms:g} ms per call whatever the batch size")
    print(f"    {args.theorems} theorems, best-first k=4, each proved after {args.depth} expansions")
    one_by_one, together, mean_batch = batching(args.theorems, args.depth, args.call_ms)
    print(f"    one after another : {one_by_one:8.2f} theorems/s")
    print(f"    {args.theorems} concurrent     : {together:8.2f} theorems/s (mean batch {mean_batch:.1f} queries)")
    print(f"    speed-up          : {together / one_by_one:8.1f}x")


if __name__ == "__main__":
    main()
