"""Search policies and the one place that turns a name and parameters into a policy."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from search.errors import SearchConfigError
from search.params import ParamInfo, describe_params
from search.context import Policy
from search.policies.beam import Beam
from search.policies.best_first import BestFirst
from search.policies.lookahead import Lookahead
from search.policies.mcts import MCTS
from search.policies.pass_n import PassN
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
]

POLICIES: dict[str, type] = {cls.name: cls for cls in (PassN, Revise, Rollouts, BestFirst, Beam, MCTS, Lookahead)}
"""Registered policies by name."""


def policy_parameters(name: str) -> tuple[ParamInfo, ...]:
    """The declared parameters of the policy registered as ``name``."""
    return describe_params(_policy_class(name))


def _policy_class(name: str) -> type:
    try:
        return POLICIES[name]
    except KeyError:
        raise SearchConfigError(f"unknown search policy {name!r}; choose from {', '.join(POLICIES)}") from None


def resolve_policy(policy: Policy | str, params: Mapping[str, Any] | None = None) -> Policy:
    """A policy object from an object or a registered name, with ``params`` applied;
    ``SearchConfigError`` names an unknown policy or parameter and lists the valid ones."""
    params = dict(params or {})
    cls = _policy_class(policy) if isinstance(policy, str) else type(policy)
    declared = [p.name for p in describe_params(cls)]
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise SearchConfigError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for policy {cls.name!r}; valid: {', '.join(declared)}"
        )
    if isinstance(policy, str):
        return cls(**params)
    return dataclasses.replace(policy, **params) if params else policy


def policy_params(policy: Policy) -> dict[str, Any]:
    """The policy's parameters as plain data (for manifests): callables by name."""
    out: dict[str, Any] = {}
    for info in describe_params(type(policy)):
        value = getattr(policy, info.name)
        out[info.name] = value if info.settable or value is None else getattr(value, "__name__", type(value).__name__)
    return out
