"""Fitting the verdict model, and cross-validation by question (never measured where fitted)."""

from __future__ import annotations

import random

import numpy as np

from bot.grading.thresholds import GradingParams
from bot.grading.verdict_model import VERDICTS, VerdictModel

L2 = 20.0  # chosen by cross-validation by question among 1, 5, 20


def fit_verdict_model(features: np.ndarray, labels: list[str], names: tuple[str, ...],
                      params: GradingParams, l2: float = L2, steps: int = 3000, lr: float = 0.1) -> VerdictModel:
    """Multinomial logistic regression by full-batch gradient descent from zeros (deterministic)."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-9
    x = (features - mean) / scale  # (N, F)
    y = np.eye(len(VERDICTS))[[VERDICTS.index(label) for label in labels]]  # (N, 3)
    n, f = x.shape
    w, b = np.zeros((f, len(VERDICTS))), np.zeros(len(VERDICTS))
    for _ in range(steps):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = p - y  # (N, 3)
        w -= lr * (x.T @ grad / n + l2 * w / n)
        b -= lr * grad.mean(axis=0)
    return VerdictModel(names, mean, scale, w, b, params)


def question_folds(question_ids: list[str], k: int = 5, seed: int = 13) -> list[set[str]]:
    """Folds of whole questions: a model is never measured on a question it was fitted on."""
    ids = sorted(set(question_ids))
    random.Random(seed).shuffle(ids)
    return [set(ids[i::k]) for i in range(k)]
