"""Proof search: the proof graph, budgets, policies and the batching scheduler.

Depends only on ``lean_env`` types and the proposer interface defined here::

    result = await run_search(theorem, env=env, proposer=proposer,
                              policy=make_policy("best-first", k=8), budget=Budget(max_expansions=100))
    async for result in Scheduler(env=env, proposer=proposer, policy="mcts").stream(theorems):
        ...
"""

from search.budget import Budget, BudgetExhausted, BudgetTracker, Spent
from search.engine import ProposeFn, SearchEngine, Step, ThreadedPropose, as_propose_fn, derive_seed, run_search
from search.errors import SearchConfigError
from search.graph import QED, EdgeRecord, NodeStatus, ProofGraph
from search.policies import MCTS, POLICIES, Beam, BestFirst, Lookahead, PassN, Policy, Rollouts, make_policy
from search.proposer import Candidate, Proposer, ProposerKind, Query
from search.result import SearchResult, SearchStatus, Timings
from search.scheduler import BatchingPropose, BatchStats, Scheduler, SchedulerConfig, SearchJob
from search.value import ValueFn, goal_heuristic

__all__ = [
    "Candidate",
    "Proposer",
    "ProposerKind",
    "Query",
    "Budget",
    "BudgetExhausted",
    "BudgetTracker",
    "Spent",
    "ProposeFn",
    "ThreadedPropose",
    "as_propose_fn",
    "derive_seed",
    "SearchEngine",
    "Step",
    "run_search",
    "SearchConfigError",
    "ProofGraph",
    "EdgeRecord",
    "NodeStatus",
    "QED",
    "Policy",
    "POLICIES",
    "make_policy",
    "PassN",
    "Rollouts",
    "BestFirst",
    "Beam",
    "MCTS",
    "Lookahead",
    "SearchResult",
    "SearchStatus",
    "Timings",
    "Scheduler",
    "SearchJob",
    "SchedulerConfig",
    "BatchingPropose",
    "BatchStats",
    "ValueFn",
    "goal_heuristic",
]
