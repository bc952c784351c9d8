"""The policy registry: names to policy classes (filled by ``search.policies``) and the
one place that turns a name and parameters into a policy. Policies that run other
policies (``compute-optimal``) resolve them here without importing the package."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from search.context import Policy
from search.errors import SearchConfigError
from search.params import ParamInfo, describe_params

__all__ = ["POLICIES", "resolve_policy", "policy_params", "policy_parameters"]

POLICIES: dict[str, type] = {}
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
