"""Grading with only a reference answer (no curated key points), as in the Mohler 2011 benchmark.

The score is idf-weighted token-alignment recall (BERTScore recall, Zhang et al. 2019) over
MiniLM's contextual token vectors: for each reference token, its best cosine match among the
answer's tokens, averaged with idf weights so content words count more than "the". Recall, not
precision, because a short-answer grade asks how much of the reference the student said. It has no
fitted parameters; the idf comes from the texts being scored (answers and references, no labels).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


def reference_only_scores(embedder, answers: list[str], references: list[str]) -> np.ndarray:
    unique = sorted(set(answers) | set(references))
    tokens = dict(zip(unique, embedder.token_embeddings(unique), strict=True))
    df = Counter(tid for _, ids in tokens.values() for tid in set(ids.tolist()))
    n_docs = len(unique)
    scores = np.zeros(len(answers))
    for i, (answer, reference) in enumerate(zip(answers, references, strict=True)):
        a_vecs, _ = tokens[answer]
        r_vecs, r_ids = tokens[reference]
        if len(a_vecs) == 0 or len(r_vecs) == 0:
            continue
        weights = np.array([math.log((n_docs + 1) / (df[t] + 1)) for t in r_ids.tolist()])
        best = (r_vecs @ a_vecs.T).max(axis=1)  # (T_ref,)
        scores[i] = float((best * weights).sum() / max(weights.sum(), 1e-9))
    return scores
