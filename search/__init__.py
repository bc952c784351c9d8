"""Proof search: the proof graph, budgets, policies and the batching scheduler.

Depends only on ``lean_env`` types and the small interfaces defined here::

    result = await run_search(theorem, env=env, proposer=proposer,
                              policy=BestFirst(k=8), budget=Budget(max_expansions=100))
    scheduler = Scheduler(env=env, proposer=proposer, policy="mcts")
    async for job, result in scheduler.stream(plan_jobs(theorems, attempts=4)):
        ...
"""

from search.budget import Budget, BudgetExhausted, Spent
from search.context import SearchContext, Step
from search.engine import run_search
from search.errors import SearchConfigError
from search.graph import QED, EdgeRecord, EdgeView, NodeStatus, NodeView, ProofGraph
from search.params import ParamInfo
from search.policies import (
    MCTS,
    POLICIES,
    Beam,
    BestFirst,
    Lookahead,
    PassN,
    Policy,
    Revise,
    Rollouts,
    policy_parameters,
    policy_params,
    resolve_policy,
)
from search.proposer import Attempt, Candidate, Proposer, ProposerKind, Query, charge_generated
from search.result import SearchResult, SearchStatus, Timings
from search.scheduler import BatchingEvaluate, BatchingPropose, BatchStats, Scheduler, SchedulerConfig, SearchJob, plan_jobs
from search.seeds import attempt_seed, derive_seed
from search.value import EvaluateFn, GoalHeuristic, ValueModel, goal_heuristic

__all__ = [
    "Attempt",
    "Candidate",
    "charge_generated",
    "Proposer",
    "ProposerKind",
    "Query",
    "Budget",
    "BudgetExhausted",
    "Spent",
    "SearchContext",
    "Step",
    "run_search",
    "SearchConfigError",
    "ProofGraph",
    "NodeView",
    "EdgeView",
    "EdgeRecord",
    "NodeStatus",
    "QED",
    "ParamInfo",
    "Policy",
    "POLICIES",
    "resolve_policy",
    "policy_params",
    "policy_parameters",
    "PassN",
    "Rollouts",
    "BestFirst",
    "Beam",
    "MCTS",
    "Lookahead",
    "Revise",
    "SearchResult",
    "SearchStatus",
    "Timings",
    "Scheduler",
    "SchedulerConfig",
    "SearchJob",
    "plan_jobs",
    "BatchStats",
    "BatchingPropose",
    "BatchingEvaluate",
    "attempt_seed",
    "derive_seed",
    "ValueModel",
    "EvaluateFn",
    "GoalHeuristic",
    "goal_heuristic",
]
