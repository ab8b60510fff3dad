"""The verdict model's inputs are named (bot/grading/features.py): the fitted model reads them by
name, so no reordering of the code that computes them can feed it one feature as another."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.grading.features import (
    JudgeFeatures,
    MemoryFeatures,
    SimilarityFeatures,
    VerdictInputs,
    verdict_feature_names,
)
from bot.grading.verdict_model import VerdictModel


def inputs() -> VerdictInputs:
    judge = JudgeFeatures(**{n: float(i) for i, n in enumerate(JudgeFeatures.names())})
    sim = SimilarityFeatures(**{n: 100.0 + i for i, n in enumerate(SimilarityFeatures.names())})
    memory = MemoryFeatures(**{n: 200.0 + i for i, n in enumerate(MemoryFeatures.names())})
    return VerdictInputs(judge, sim, memory)


def test_the_shipped_model_was_fitted_on_these_features_in_this_order():
    assert VerdictModel.load().features == verdict_feature_names(with_similarity=True, with_memory=True)
    assert inputs().names() == verdict_feature_names(with_similarity=True, with_memory=True)


def test_features_are_built_by_keyword_only():
    with pytest.raises(TypeError):
        JudgeFeatures(*range(len(JudgeFeatures.names())))  # positional: refused
    with pytest.raises(TypeError):
        SimilarityFeatures(*range(len(SimilarityFeatures.names())))


def test_the_model_reads_its_inputs_by_name_in_its_own_order():
    x = inputs()
    names = x.names()
    assert list(x.vector()) == list(x.vector(names))
    assert list(x.vector(names[::-1])) == list(x.vector())[::-1]
    assert x.values()["sim_kp_mean"] == 100.0 and x.values()["req_cover_mean"] == 0.0
    with pytest.raises(KeyError):
        x.vector([*names, "not_a_feature"])
    model = VerdictModel.load()
    shuffled = dataclasses.replace(  # the same model with its columns stored in another order
        model, features=model.features[::-1], mean=model.mean[::-1], scale=model.scale[::-1],
        weights=model.weights[::-1])
    assert np.allclose(model.probabilities_of(x), shuffled.probabilities_of(x))
    assert np.array_equal(model.probabilities_of(x), model.probabilities(x.vector(model.features)))
