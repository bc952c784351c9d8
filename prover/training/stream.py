"""An endless, resumable stream of training-unit indices.

Each epoch is a fresh permutation derived from (seed, epoch) by the one seed rule
(``search.seeds.derive_seed``), so the stream's whole state is two integers and a
resumed run draws exactly the units the original would have.
"""

from __future__ import annotations

import torch

from search.seeds import derive_seed

__all__ = ["UnitStream"]


class UnitStream:
    """Shuffled indices ``0..size-1``, epoch after epoch; ``take`` draws the next ones."""

    def __init__(self, size: int, seed: int):
        if size < 1:
            raise ValueError("no training units: the dataset is empty")
        self.size = size
        self.seed = seed
        self.epoch = 0
        self.position = 0
        self._order = self._permutation()

    def _permutation(self) -> list[int]:
        generator = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", self.epoch))
        return torch.randperm(self.size, generator=generator).tolist()

    def take(self, count: int) -> list[int]:
        """The next ``count`` unit indices, moving into the next epoch as needed."""
        out: list[int] = []
        while len(out) < count:
            if self.position == self.size:
                self.epoch += 1
                self.position = 0
                self._order = self._permutation()
            chunk = self._order[self.position : self.position + count - len(out)]
            self.position += len(chunk)
            out.extend(chunk)
        return out

    @property
    def units_seen(self) -> int:
        """Units drawn so far, over all epochs."""
        return self.epoch * self.size + self.position

    def state_dict(self) -> dict[str, int]:
        """The position to save in a checkpoint."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "size": self.size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a saved position; the dataset size and seed must match."""
        if (state["seed"], state["size"]) != (self.seed, self.size):
            raise ValueError("checkpoint was written for a different dataset or seed")
        self.epoch, self.position = state["epoch"], state["position"]
        self._order = self._permutation()
