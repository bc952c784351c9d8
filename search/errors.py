"""Exceptions raised by search for user mistakes."""

from __future__ import annotations

__all__ = ["SearchConfigError"]


class SearchConfigError(ValueError):
    """A search was configured wrongly: unknown policy, bad parameter, wrong proposer kind."""
