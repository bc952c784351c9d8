"""Search policies and the one place that turns a name and parameters into a policy
(``search.policies.registry``, filled here)."""

from __future__ import annotations

from search.context import Policy
from search.policies.beam import Beam
from search.policies.best_first import BestFirst
from search.policies.compute_optimal import ComputeOptimal
from search.policies.lookahead import Lookahead
from search.policies.mcts import MCTS
from search.policies.pass_n import PassN
from search.policies.registry import POLICIES, policy_parameters, policy_params, resolve_policy
from search.policies.revise import Revise
from search.policies.rollouts import Rollouts

__all__ = [
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
    "ComputeOptimal",
]

POLICIES.update({cls.name: cls for cls in (PassN, Revise, Rollouts, BestFirst, Beam, MCTS, Lookahead, ComputeOptimal)})
