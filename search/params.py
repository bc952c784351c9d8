"""Declared, checked and self-describing parameters of search configurations.

A parameter is a dataclass field declared with ``param``: its annotation, default, lower
bound and one-line meaning. ``check_params`` enforces them when the object is built (no
booleans where numbers are meant, finite numbers, bounds, ``Literal`` choices), and
``describe_params`` lists them, so help text is generated from the definitions themselves.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Union

from search.errors import SearchConfigError

__all__ = ["ParamInfo", "param", "check_params", "describe_params", "type_problem"]


@dataclass(frozen=True)
class ParamInfo:
    """One declared parameter: name, type as text, default, meaning, and whether it can be
    given as text (``--param``, a config file) rather than only from Python."""

    name: str
    type: str
    default: object
    help: str
    settable: bool


def param(default: Any, help: str, *, min: float | None = None, compare: bool = True) -> Any:
    """A dataclass field declaring a parameter with its meaning and an optional lower bound."""
    return field(default=default, compare=compare, metadata={"help": help, "min": min})


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def type_problem(value: Any, tp: Any, minimum: float | None = None) -> str | None:
    """Why ``value`` does not fit annotation ``tp`` (and ``minimum``), or ``None`` when it
    does. Annotations it does not know (classes, ``Any``) accept anything."""
    if _is_union(tp):
        arms = typing.get_args(tp)
        if value is None and type(None) in arms:
            return None
        problems = [type_problem(value, arm, minimum) for arm in arms if arm is not type(None)]
        return None if any(p is None for p in problems) else problems[0]
    bound = f" >= {minimum:g}" if minimum is not None else ""
    if tp is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
            return f"must be an integer{bound}"
        return None
    if tp is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or (minimum is not None and value < minimum):
            return f"must be a finite number{bound}"
        return None
    if tp is str:
        return None if isinstance(value, str) else "must be a string"
    if typing.get_origin(tp) is Literal:
        choices = typing.get_args(tp)
        return None if value in choices else "must be one of " + ", ".join(map(str, choices))
    origin = typing.get_origin(tp)
    if origin is collections.abc.Callable:
        return None if callable(value) else "must be callable"
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (tuple, list)):
            return "must be a list"
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return f"must be a list of {len(items)} items"
        return next((p for p in (type_problem(v, t) for v, t in zip(value, items)) if p), None)
    if origin in (collections.abc.Mapping, dict):
        return None if isinstance(value, collections.abc.Mapping) else "must be a table"
    return None


def check_params(obj: Any) -> None:
    """Raise ``SearchConfigError`` naming the first declared parameter of ``obj`` whose value
    does not fit its type or bound."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if "help" not in f.metadata:
            continue
        value = getattr(obj, f.name)
        problem = type_problem(value, hints[f.name], f.metadata.get("min"))
        if problem is not None:
            raise SearchConfigError(f"{type(obj).__name__}.{f.name} {problem}, got {value!r}")


def _type_text(tp: Any) -> str:
    if _is_union(tp):
        return " | ".join(_type_text(arm) for arm in typing.get_args(tp))
    if tp is type(None):
        return "None"
    if typing.get_origin(tp) is Literal:
        return "|".join(map(str, typing.get_args(tp)))
    if isinstance(tp, type):
        return tp.__name__
    return "callable"


def _settable(tp: Any) -> bool:
    arms = typing.get_args(tp) if _is_union(tp) else (tp,)
    return all(arm in (int, float, bool, str, type(None)) or typing.get_origin(arm) is Literal for arm in arms)


def describe_params(cls: type) -> tuple[ParamInfo, ...]:
    """The declared parameters of dataclass ``cls``, in definition order."""
    hints = _hints(cls)
    return tuple(
        ParamInfo(
            name=f.name,
            type=_type_text(hints[f.name]),
            default=f.default,
            help=f.metadata["help"],
            settable=_settable(hints[f.name]),
        )
        for f in dataclasses.fields(cls)
        if "help" in f.metadata
    )
