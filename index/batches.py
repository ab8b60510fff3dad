"""Batches of similar length for transformer inference on a CPU.

A batch is padded to its longest item, and on a CPU every padded token costs as much as a real
one. Grading mixes long pairs (a key point with the whole answer) and short ones (a claim with one
sentence): in one batch, most of the work would be padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SLACK = 0.8  # start a new batch when an item is shorter than this share of the batch's longest


def by_length(lengths: Sequence[int], max_batch: int, slack: float = SLACK) -> list[np.ndarray]:
    """Indices of `lengths`, longest first, cut into batches of at most `max_batch` items whose
    shortest is at least `slack` x their longest."""
    order = np.argsort([-n for n in lengths], kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        if end == len(order) or end - start == max_batch or lengths[order[end]] < slack * lengths[order[start]]:
            batches.append(order[start:end])
            start = end
    return batches
