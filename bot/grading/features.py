"""The verdict model's inputs, each by name.

The fitted model (bot/grading/verdict_model.json) stores the names of its inputs in order, and
reads an answer's features by those names: a feature cannot reach the model under another's name,
whatever order the lines that compute them are in. Builders pass every field by keyword (the
dataclasses are keyword-only); the field order is the order the model was fitted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class NamedFeatures:
    """Base: named float features; `names()` are the fields, in declaration order."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def values(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.names()}


@dataclass(frozen=True, kw_only=True)
class JudgeFeatures(NamedFeatures):
    """Aggregates of the cross-encoder's judgements of one answer (bot.grading.grader)."""

    req_cover_mean: float  # mean P(covers) over the required key points
    req_cover_min: float  # P(covers) of the least covered required key point
    req_share_50: float  # share of required key points with P(covers) >= 0.5
    req_share_30: float  # share of required key points with P(covers) >= 0.3
    cover_mean: float  # mean P(covers) over all key points
    cover_max: float  # P(covers) of the best covered key point
    req_contra_max: float  # P(contradicts) of the most contradicted required key point
    contra_max: float  # P(contradicts) of the most contradicted key point
    contra_mean: float  # mean P(contradicts) over all key points
    no_claims: float  # 1 when the answer cannot earn credit ("I don't know", no words)
    log_words: float  # log(1 + words of the canonical sentences)
    clean_share: float  # share of key points with P(covers) >= 0.5 and P(contradicts) < 0.5


@dataclass(frozen=True, kw_only=True)
class SimilarityFeatures(NamedFeatures):
    """The first build's similarity signals of one answer (bot.grading.similarity)."""

    kp_mean: float  # mean over key points of their best cosine to an answer sentence
    kp_top2: float  # mean of the two best key-point cosines
    kp_share_50: float  # share of key points with best cosine > 0.5
    kp_share_60: float  # share of key points with best cosine > 0.6
    kp_share_70: float  # share of key points with best cosine > 0.7
    mis_max: float  # best cosine of a sentence to a misconception claim (negation-penalised)
    mis_margin: float  # largest (claim cosine - that sentence's best key-point cosine)
    mis_margin_pos: float  # the same, floored at 0
    answer_cosine: float  # cosine of the mean answer sentence to the reference answer
    token_recall: float  # idf-weighted token alignment recall against the reference
    tfidf: float  # tf-idf cosine to the reference answer
    prompt_sim: float  # best cosine of a sentence to the prompt (echoing the question)
    log_words: float  # log(1 + words of the answer)
    no_claims: float  # 1 when the answer cannot earn credit
    order_margin: float  # largest ROUGE-L margin of a claim over the key points (reversals)
    kp_align_req_mean: float  # mean over required key points of their token-alignment recall
    kp_align_req_min: float  # that recall of the least carried required key point


@dataclass(frozen=True, kw_only=True)
class MemoryFeatures(NamedFeatures):
    """What labelled answers to the same question say about one answer (bot.grading.answer_memory)."""

    best_correct: float  # cosine to the closest answer labelled correct (0 when there is none)
    best_partial: float  # ... labelled partial
    best_incorrect: float  # ... labelled incorrect
    vote_correct: float  # share of correct among the nearest answers, weighted by closeness
    vote_partial: float
    vote_incorrect: float
    best_margin: float  # best_correct - best_incorrect
    empty: float  # 1 when the question has no labelled answers (a new question)

    @classmethod
    def empty_memory(cls) -> MemoryFeatures:
        return cls(best_correct=0.0, best_partial=0.0, best_incorrect=0.0, vote_correct=1 / 3,
                   vote_partial=1 / 3, vote_incorrect=1 / 3, best_margin=0.0, empty=1.0)


SIMILARITY_PREFIX = "sim_"  # similarity features are named sim_<name> among the model's inputs
MEMORY_PREFIX = "mem_"  # memory features are named mem_<name>


@dataclass(frozen=True)
class VerdictInputs:
    """One answer's inputs to the verdict model: the judgements' aggregates, then the similarity
    signals and the labelled answers' evidence when the grader has them."""

    judge: JudgeFeatures
    similarity: SimilarityFeatures | None = None
    memory: MemoryFeatures | None = None

    def values(self) -> dict[str, float]:
        out = self.judge.values()
        if self.similarity is not None:
            out |= {SIMILARITY_PREFIX + k: v for k, v in self.similarity.values().items()}
        if self.memory is not None:
            out |= {MEMORY_PREFIX + k: v for k, v in self.memory.values().items()}
        return out

    def names(self) -> tuple[str, ...]:
        return tuple(self.values())

    def vector(self, names: Sequence[str] | None = None) -> np.ndarray:
        """The values in the order of `names` (a fitted model's), else in field order; a name
        these inputs do not have raises KeyError."""
        values = self.values()
        return np.array([values[name] for name in (values if names is None else names)])


def verdict_feature_names(with_similarity: bool, with_memory: bool = False) -> tuple[str, ...]:
    """The names of the verdict model's inputs, in the order a model is fitted in."""
    sim = tuple(SIMILARITY_PREFIX + n for n in SimilarityFeatures.names()) if with_similarity else ()
    mem = tuple(MEMORY_PREFIX + n for n in MemoryFeatures.names()) if with_memory else ()
    return JudgeFeatures.names() + sim + mem
