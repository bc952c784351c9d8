"""The one error class of the Ray layer."""

from __future__ import annotations

__all__ = ["ClusterError"]


class ClusterError(RuntimeError):
    """The cluster cannot run the work as asked: Ray missing, no cluster at the address,
    resources it lacks, an actor that cannot start on its node, or actors lost for good.
    One line for the user; records already written stay (continue with ``--resume``)."""
