"""The search engine: the ``SearchContext`` every policy drives, and ``run_search``.

A policy only decides *which* nodes to expand and with how many samples; the engine
asks the proposer, runs the new tactics concurrently through the environment, merges
the results into the ``ProofGraph`` and charges the ``Budget``. ``run_search`` runs a
policy, re-verifies whatever proof it found, and builds the result. The engine imports
no policy: it runs any object with ``name``, ``proposer_kind`` and ``run(ctx)``.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Awaitable, Callable, Sequence, TypeVar

from lean_env.aio import within
from lean_env.environment import Environment
from lean_env.types import EnvCrash, Theorem, Verdict
from search.budget import Budget, BudgetExhausted, BudgetTracker, Spent
from search.context import Policy, Step
from search.errors import SearchConfigError
from search.graph import FAILED, LOST, PROVED, QED, EdgeRecord, ProofGraph, outcome_of
from search.proposer import Attempt, Candidate, ProposeFn, Proposer, Query, as_propose_fn
from search.result import SearchResult, SearchStatus, Timings
from search.seeds import derive_seed
from search.value import EvaluateFn, GoalHeuristic, ValueModel, as_evaluate_fn

__all__ = ["SearchEngine", "check_proposer_kind", "run_search"]

_T = TypeVar("_T")
_HEURISTIC = GoalHeuristic()


def check_proposer_kind(policy: Policy, proposer: Proposer | ProposeFn) -> None:
    """Raise ``SearchConfigError`` unless ``proposer`` produces what ``policy`` consumes
    (tactics or whole proofs)."""
    if proposer.kind != policy.proposer_kind:
        raise SearchConfigError(
            f"policy {policy.name!r} needs a {policy.proposer_kind!r} proposer, got {proposer.name!r} ({proposer.kind!r})"
        )


class SearchEngine:
    """One theorem's search: implements ``SearchContext`` over an environment, a proposer
    and a budget tracker, and keeps the timings."""

    def __init__(
        self,
        theorem: Theorem,
        *,
        env: Environment,
        propose: ProposeFn,
        budget: Budget,
        seed: int,
        evaluate: EvaluateFn | None = None,
    ):
        self.theorem = theorem
        self.budget = budget
        self.env = env
        self.propose = propose
        self.evaluate = evaluate
        self.tracker = BudgetTracker(budget)
        self.seed = seed
        self.graph = ProofGraph()
        self.env_seconds = 0.0
        self.proposer_seconds = 0.0
        self.verdicts: dict[str, Verdict] = {}
        self._queries_at: dict[str, int] = {}

    async def start(self) -> None:
        """Start the theorem in the environment and root the graph at its state."""
        state = await self.env.start(self.theorem)
        self.graph = ProofGraph(state.goals)
        self.graph.bind(self.graph.root, state)

    @property
    def done(self) -> bool:
        """The root is proved, failed or lost: no policy has anything left to do."""
        return self.graph.root_status != "open"

    def spent(self) -> Spent:
        """What the search has consumed so far."""
        return self.tracker.spent()

    @property
    def has_value_model(self) -> bool:
        """Whether ``values`` comes from a value model (else from the goal heuristic)."""
        return self.evaluate is not None

    async def values(self, nodes: Sequence[str]) -> list[float]:
        """The value of each node's state: 1 for ``qed``, 0 for failed or lost nodes, else
        the value model's score in one batched call (the goal heuristic without one)."""
        nodes = list(nodes)
        status = [self.graph.status(node) for node in nodes]
        ask = [node for node, s in zip(nodes, status) if s not in (PROVED, FAILED, LOST) and node != QED]
        if self.evaluate is None:
            scores = dict(zip(ask, _HEURISTIC.evaluate([self.graph.state(n) for n in ask])))
        elif ask:
            answer = await self._bounded(self.evaluate([self.graph.state(n) for n in ask]))
            self.tracker.count_evaluations(len(ask))
            scores = dict(zip(ask, answer))
        else:
            scores = {}
        return [1.0 if s == PROVED else scores.get(node, 0.0) for node, s in zip(nodes, status)]

    def _query(self, node: str, revising: tuple[Attempt, ...] = ()) -> Query:
        count = self._queries_at.get(node, 0)
        self._queries_at[node] = count + 1
        seed = derive_seed(self.seed, self.theorem.name, self.graph.node(node).key, count)
        return Query(self.theorem, self.graph.state(node), self.graph.history(node), seed, revising)

    async def sample(
        self, nodes: Sequence[str], k: int, *, revising: Sequence[tuple[Attempt, ...]] | None = None
    ) -> list[tuple[str, list[Candidate]]]:
        """Ask the proposer for ``k`` candidates at each node, charging the budget first;
        ``revising`` (one entry per node) goes into the queries for whole-proof revision.

        Nodes beyond what the budget allows are dropped (``BudgetExhausted`` when none
        fits); candidates whose tokens overflow the token limit are discarded.
        """
        granted = self.tracker.grant_queries(len(nodes), k)
        nodes = list(nodes[:granted])
        revisions = list(revising or ())[:granted] or [()] * granted
        queries = [self._query(node, attempts) for node, attempts in zip(nodes, revisions)]
        started = time.perf_counter()
        answers = await self._bounded(self.propose(queries, k))
        self.proposer_seconds += time.perf_counter() - started
        out = []
        for node, candidates in zip(nodes, answers):
            kept = []
            for candidate in candidates[:k]:
                if not self.tracker.accept_tokens(candidate.num_tokens):
                    break
                kept.append(candidate)
            out.append((node, kept))
        return out

    async def expand(self, nodes: Sequence[str], k: int, *, full: bool = True) -> list[list[Step]]:
        """Expand ``nodes`` with ``k`` sampled tactics each, in one proposer call.

        Tactics already tried at a node reuse the cached edge (no environment call); new
        ones run concurrently. With ``full`` each node is then marked fully expanded.
        Returns, per granted node, the candidates' steps in proposer order.
        """
        sampled = await self.sample(nodes, k)
        pending: dict[tuple[str, str], Candidate] = {}
        for node, candidates in sampled:
            for candidate in candidates:
                if self.graph.tried(node, candidate.text) is None:
                    pending.setdefault((node, candidate.text), candidate)
        granted = self.tracker.grant_env_calls(len(pending)) if pending else 0
        jobs = list(pending.items())[:granted]
        calls = (self._env_call(partial(self.env.step, self.graph.state(node), tactic)) for (node, tactic), _ in jobs)
        results = await self._bounded(asyncio.gather(*calls))
        for ((node, tactic), candidate), (result, seconds) in zip(jobs, results):
            kind, message = outcome_of(result)
            record = EdgeRecord(
                tactic=tactic,
                logprob=candidate.logprob,
                num_tokens=candidate.num_tokens,
                outcome=kind,
                message=message,
                seconds=seconds,
            )
            self.graph.add_attempt(node, record, result)
            if isinstance(result, EnvCrash) and result.state_lost:
                self.graph.mark_lost(node)
        steps = []
        for node, candidates in sampled:
            if full and granted == len(pending):
                self.graph.mark_expanded(node)
            tried = ((c, self.graph.tried(node, c.text)) for c in candidates)
            steps.append([Step(c.text, c.logprob, child) for c, child in tried if child is not None])
        return steps

    async def _env_call(self, call: Callable[[], Awaitable[_T]]) -> tuple[_T, float]:
        """Make and await one environment call, timing it into the edge and the env total.
        The call is made here, not by the caller, so a task cancelled before it starts
        leaves no never-awaited coroutine behind."""
        started = time.perf_counter()
        result = await call()
        seconds = time.perf_counter() - started
        self.env_seconds += seconds
        return result, seconds

    async def verify_attempts(self, node: str, candidates: Sequence[Candidate]) -> list[Verdict]:
        """Check whole-proof candidates with ``verify`` concurrently (one environment call
        each, texts already checked skipped) and record each as an edge from ``node``: to
        ``qed`` when accepted, to a failed leaf otherwise. Returns the new verdicts in order."""
        fresh: list[Candidate] = []
        for candidate in candidates:
            if self.graph.tried(node, candidate.text) is None and all(c.text != candidate.text for c in fresh):
                fresh.append(candidate)
        if not fresh:
            return []
        fresh = fresh[: self.tracker.grant_env_calls(len(fresh))]
        checks = (self._env_call(partial(self.env.verify, self.theorem, c.text)) for c in fresh)
        timed = await self._bounded(asyncio.gather(*checks))
        for candidate, (verdict, seconds) in zip(fresh, timed):
            record = EdgeRecord(
                tactic=candidate.text,
                logprob=candidate.logprob,
                num_tokens=candidate.num_tokens,
                outcome="verified" if verdict.ok else "verify_failed",
                message=verdict.reason,
                seconds=seconds,
            )
            self.graph.add_attempt(node, record)
            self.verdicts[candidate.text] = verdict
        return [verdict for verdict, _ in timed]

    async def _bounded(self, awaitable: Awaitable[_T]) -> _T:
        """Await within the wall-clock budget; overrunning it ends the search."""
        left = self.tracker.remaining_seconds()
        if left is None:
            return await awaitable
        try:
            return await within(awaitable, max(left, 0.0))
        except TimeoutError:
            raise BudgetExhausted("wall-clock limit reached") from None


async def run_search(
    theorem: Theorem,
    *,
    env: Environment,
    proposer: Proposer | ProposeFn,
    policy: Policy,
    budget: Budget = Budget(),
    seed: int = 0,
    value: ValueModel | EvaluateFn | None = None,
) -> SearchResult:
    """Search for a proof of ``theorem`` with ``policy`` (an object: see
    ``search.resolve_policy`` for names) under ``budget``, with ``value`` scoring states
    for value-guided policies; every reported proof has passed ``env.verify``.

    Exceptions during the search become an ``error`` result carrying the message; a
    proposer of the wrong kind for the policy raises ``SearchConfigError``.
    """
    if isinstance(policy, str):
        raise SearchConfigError(f"run_search takes a policy object; use search.resolve_policy({policy!r}) for a name")
    propose = as_propose_fn(proposer)
    check_proposer_kind(policy, propose)
    evaluate = as_evaluate_fn(value) if value is not None else None
    engine = SearchEngine(theorem, env=env, propose=propose, budget=budget, seed=seed, evaluate=evaluate)
    started = time.perf_counter()
    status: SearchStatus = "failed"
    error = None
    try:
        await engine.start()
        await policy.run(engine)
    except BudgetExhausted:
        status = "budget"
    except Exception as exc:  # one broken search must not take others down: report it
        status, error = "error", f"{type(exc).__name__}: {exc}"
    spent = engine.tracker.spent()
    proof, verdict, findings, verify_seconds = None, None, [], 0.0
    if engine.graph.root_status == PROVED:
        try:
            proof, verdict, findings, verify_seconds = await _final_check(engine)
        except Exception as exc:  # a crashing verify is reported like any other search error
            error = f"verify failed: {type(exc).__name__}: {exc}"
        else:
            error = None if proof is not None else "stepping found a proof but verify rejected every extracted proof"
        status = "proved" if proof is not None else "error"
    elif status == "failed" and engine.graph.root_status == LOST:
        status, error = "error", "the root proof state was lost (environment crash)"
    timings = Timings(
        wall=time.perf_counter() - started,
        env=engine.env_seconds,
        proposer=engine.proposer_seconds,
        verify=verify_seconds,
    )
    return SearchResult(
        theorem=theorem.name,
        policy=policy.name,
        status=status,
        proof=proof,
        verdict=verdict,
        spent=spent,
        graph=engine.graph,
        timings=timings,
        findings=tuple(findings),
        error=error,
    )


async def _final_check(engine: SearchEngine) -> tuple[str | None, Verdict | None, list[str], float]:
    """Verify the shortest, then the most probable extracted proof; record disagreements."""
    findings = []
    started = time.perf_counter()
    texts = dict.fromkeys(engine.graph.proof_text(most_probable=flag) for flag in (False, True))
    for text in texts:
        verdict = engine.verdicts.get(text) or await engine.env.verify(engine.theorem, text)
        if verdict.ok:
            return text, verdict, findings, time.perf_counter() - started
        findings.append(
            f"stepping closed the proof but verify ({verdict.checker}) rejected it: {verdict.reason}\n{text}"
        )
    return None, None, findings, time.perf_counter() - started

