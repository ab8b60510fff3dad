"""Plain lexical baselines (tf-idf cosine, BM25), so every quality figure has a yardstick."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "the", "is", "are", "was", "were", "be", "to", "of", "in", "on", "and", "or", "it", "that", "this", "for", "with", "as", "by"])


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class TfIdf:
    """Tf-idf vectors (sublinear tf, smoothed idf) with vocabulary and idf fitted on a corpus."""

    def __init__(self, corpus: list[str]):
        docs = [set(tokenize(d)) for d in corpus]
        df = Counter(t for d in docs for t in d)
        self.vocab = {t: i for i, t in enumerate(sorted(df))}
        n = len(corpus)
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in sorted(df)])

    def transform(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.vocab)))
        for row, text in enumerate(texts):
            for token, count in Counter(tokenize(text)).items():
                if token in self.vocab:
                    out[row, self.vocab[token]] = 1 + math.log(count)
        out *= self.idf
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class BM25:
    def __init__(self, corpus: list[str], k1: float = 1.5, b: float = 0.75):
        self.docs = [Counter(tokenize(d)) for d in corpus]
        self.lengths = np.array([sum(d.values()) for d in self.docs], dtype=float)
        self.avg = self.lengths.mean() if len(self.docs) else 0.0
        df = Counter(t for d in self.docs for t in d)
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(len(self.docs))
        for token in set(tokenize(query)):
            idf = self.idf.get(token)
            if idf is None:
                continue
            for i, doc in enumerate(self.docs):
                tf = doc.get(token, 0)
                if tf:
                    norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                    out[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        return out


_SUFFIXES = ("ing", "es", "s", "ed")


def content_words(text: str) -> list[str]:
    """Lower-cased content words, crudely stemmed, in order (for order-aware overlap)."""
    out = []
    for word in tokenize(text):
        for suffix in _SUFFIXES:
            if len(word) > 4 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(a: list[str], b: list[str]) -> float:
    """ROUGE-L F1 of two word sequences: word overlap that respects order.

    Sentence embeddings barely see word order, so "batch norm normalizes over features, layer
    norm over the batch" sits as close to the right claim as to its reversal; the longest common
    subsequence does not.
    """
    common = _lcs(a, b)
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)
