"""Cross-validation by question: a threshold is never measured on a question it was chosen on."""

from __future__ import annotations

import random


def question_folds(question_ids: list[str], k: int = 5, seed: int = 13) -> list[set[str]]:
    """Folds of whole questions: a model is never measured on a question it was fitted on."""
    ids = sorted(set(question_ids))
    random.Random(seed).shuffle(ids)
    return [set(ids[i::k]) for i in range(k)]
