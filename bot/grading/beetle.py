"""SemEval-2013 Task 7 Beetle (`eval asag` on beetle.csv): 3-way grading per test split.

Only the `train` split is used to fit anything (a threshold or two); each test row is graded
against its own `reference_answer` alone. Two label schemes are reported per split:
- official `label_3way`: correct / contradictory / incorrect;
- `label_3way_cpi`: correct / partial / incorrect, the tutor's own verdicts.
The grading cross-encoder judges (reference, answer): covers -> correct, contradicts ->
contradictory (cpi: incorrect), does-not-address -> incorrect, or partial (cpi) when its
P(covers) reaches a cut fitted on train. Baselines cut one cosine similarity (tf-idf, or plain
MiniLM) into classes with thresholds fitted on train, as in the benchmark's own baseline.py.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

Label = TypeVar("Label", bound=Hashable)  # a class name, or its index

OFFICIAL = ("correct", "contradictory", "incorrect")
CPI = ("correct", "partial", "incorrect")
TEST_SPLITS = ("test_ua", "test_uq")
COLUMNS = {"reference_answer", "student_answer", "label_3way", "label_3way_cpi", "split"}


def is_beetle(path: str) -> bool:
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    return set(header) >= COLUMNS


def read_beetle(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def scores(labels: Sequence[Label], preds: Sequence[Label], classes: tuple[Label, ...]) -> tuple[float, float]:
    """(accuracy, macro-F1) as the task's evaluation script defines them."""
    y = np.array([classes.index(v) for v in labels])
    p = np.array([classes.index(v) for v in preds])
    k = len(classes)
    cm = np.bincount(y * k + p, minlength=k * k).reshape(k, k)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    f1 = np.where(support + predicted > 0, 2 * tp / np.maximum(support + predicted, 1), 0.0)
    return float(tp.sum() / len(y)), float(f1.mean())


def _report(rows: list[dict], official: list[str], cpi: list[str]) -> dict:
    out = {}
    for split in TEST_SPLITS:
        idx = [i for i, r in enumerate(rows) if r["split"] == split]
        acc, f1 = scores([rows[i]["label_3way"] for i in idx], [official[i] for i in idx], OFFICIAL)
        acc_c, f1_c = scores([rows[i]["label_3way_cpi"] for i in idx], [cpi[i] for i in idx], CPI)
        out[split] = {"n": len(idx), "accuracy": round(acc, 4), "macro_f1": round(f1, 4),
                      "accuracy_cpi": round(acc_c, 4), "macro_f1_cpi": round(f1_c, 4)}
    return out


def judge_predictions(probs: np.ndarray, partial_at: float) -> tuple[list[str], list[str]]:
    top = probs.argmax(axis=1)
    official = [OFFICIAL[t] for t in top]
    cpi = ["correct" if t == 0 else "incorrect" if t == 1 else
           "partial" if p[0] >= partial_at else "incorrect" for t, p in zip(top, probs, strict=True)]
    return official, cpi


def eval_beetle_judge(rows: list[dict], judge) -> dict:
    probs = judge.probabilities([(r["reference_answer"], r["student_answer"]) for r in rows])
    train = [i for i, r in enumerate(rows) if r["split"] == "train"]
    best_cut, best = 0.5, -1.0
    for cut in np.round(np.arange(0.02, 0.6, 0.02), 2):  # fitted on train only
        _, cpi = judge_predictions(probs[train], cut)
        f1 = scores([rows[i]["label_3way_cpi"] for i in train], cpi, CPI)[1]
        if f1 > best:
            best_cut, best = float(cut), f1
    official, cpi = judge_predictions(probs, best_cut)
    return {"splits": _report(rows, official, cpi), "partial_at": best_cut,
            "method": "grading cross-encoder on (reference, answer); partial cut fitted on train"}


def _fit_cuts(score: np.ndarray, y: np.ndarray, orders: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The two cut points and the class order of the three bins with the best macro-F1."""
    grid = np.unique(np.quantile(score, np.linspace(0, 1, 41)[1:-1]))
    best_f1, best_cuts, best_order = -1.0, None, None
    for cuts in itertools.combinations(grid, 2):
        bins = np.searchsorted(np.array(cuts), score, side="right")
        for order in orders:
            pred = np.array(order)[bins]
            f1 = scores(list(y), list(pred), tuple(range(3)))[1]
            if f1 > best_f1:
                best_f1, best_cuts, best_order = f1, np.array(cuts), np.array(order)
    assert best_cuts is not None and best_order is not None, "too few distinct scores to cut"
    return best_cuts, best_order


def eval_beetle_cosine(rows: list[dict], similarity: np.ndarray, method: str) -> dict:
    train = np.array([r["split"] == "train" for r in rows])
    preds = {}
    every_order: list[tuple[int, ...]] = list(itertools.permutations(range(3)))
    low_to_high: list[tuple[int, ...]] = [(2, 1, 0)]  # low similarity -> incorrect, high -> correct
    for column, classes, orders in (("label_3way", OFFICIAL, every_order),
                                    ("label_3way_cpi", CPI, low_to_high)):
        y = np.array([classes.index(r[column]) for r in rows])
        cuts, order = _fit_cuts(similarity[train], y[train], orders)
        preds[column] = [classes[i] for i in order[np.searchsorted(cuts, similarity, side="right")]]
    return {"splits": _report(rows, preds["label_3way"], preds["label_3way_cpi"]), "method": method}


def tfidf_similarity(rows: list[dict]) -> np.ndarray:
    from index.lexical import TfIdf

    train = [t for r in rows if r["split"] == "train" for t in (r["student_answer"], r["reference_answer"])]
    tfidf = TfIdf(train)
    a = tfidf.transform([r["student_answer"] for r in rows])
    b = tfidf.transform([r["reference_answer"] for r in rows])
    return (a * b).sum(axis=1)


def cosine_similarity(rows: list[dict], encode) -> np.ndarray:
    texts = sorted({t for r in rows for t in (r["student_answer"], r["reference_answer"])})
    vectors = dict(zip(texts, encode(texts), strict=True))
    return np.array([float(vectors[r["student_answer"]] @ vectors[r["reference_answer"]]) for r in rows])


def default_path() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "semeval2013_task7" / "beetle.csv"
