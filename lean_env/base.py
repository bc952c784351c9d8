"""Shared machinery for backends: async context management written once."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["EnvironmentBase"]

_E = TypeVar("_E", bound="EnvironmentBase")


class EnvironmentBase:
    """Mixin giving a backend ``async with`` support on top of its ``aclose``."""

    async def aclose(self) -> None:
        """Release resources; the default backend holds none."""

    async def __aenter__(self: _E) -> _E:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
