"""Small metrics shared by calibration and value-model evaluation."""

from __future__ import annotations

import bisect
from typing import Sequence

__all__ = ["auc"]


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """The probability that a positive's score is above a negative's (ties count half):
    the area under the ROC curve; ``None`` unless both kinds are present."""
    if not positives or not negatives:
        return None
    ordered = sorted(negatives)
    wins = sum(bisect.bisect_left(ordered, p) + 0.5 * (bisect.bisect_right(ordered, p) - bisect.bisect_left(ordered, p))
               for p in positives)
    return wins / (len(positives) * len(ordered))
