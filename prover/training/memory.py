"""Measuring activation memory: the bytes autograd holds for the backward pass.

Process RSS and CUDA's allocator peak mix weights, optimizer state and allocator caching
into one number; the saved-tensor hooks count exactly what a forward pass keeps for its
backward, the memory the refill of dropped units must not multiply.
"""

from __future__ import annotations

from types import TracebackType

import torch

__all__ = ["SavedTensorMeter"]


class SavedTensorMeter:
    """A context manager counting the bytes of tensors saved for backward inside it:
    ``live`` now and ``peak`` at most (a tensor saved twice counts twice)."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack)

    def _pack(self, tensor: torch.Tensor) -> "_Held":
        return _Held(self, tensor)

    def __enter__(self) -> "SavedTensorMeter":
        self._hooks.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._hooks.__exit__(kind, error, trace)


class _Held:
    """One saved tensor; its bytes count while autograd keeps it."""

    def __init__(self, meter: SavedTensorMeter, tensor: torch.Tensor):
        self.meter, self.tensor, self.size = meter, tensor, tensor.numel() * tensor.element_size()
        meter.live += self.size
        meter.peak = max(meter.peak, meter.live)

    def __del__(self) -> None:
        self.meter.live -= self.size


def _unpack(held: _Held) -> torch.Tensor:
    return held.tensor
