"""The rules on top of the verdict model (bot.grading.grader.decide), on made-up judgements: the
verdict shown never disagrees with the ✓ marks and flags shown beside it."""

from __future__ import annotations

import numpy as np

from bot.grading.grader import Judgements, decide
from bot.grading.thresholds import GradingParams

REQUIRED = np.array([True, True, False])
SURE_CORRECT = np.array([0.98, 0.01, 0.01])  # what the fitted model might say


def judgements(covers, contradicts=(0.0, 0.0, 0.0), stated=(False,)) -> Judgements:
    return Judgements(covers=np.array(covers), contradicts=np.array(contradicts),
                      stated=np.array(stated), claim_sims=np.where(stated, 0.9, 0.3))


def test_correct_needs_a_required_point_ticked_even_when_the_model_is_sure():
    params = GradingParams(cover_at=0.3, correct_share=0.0)
    d = decide(judgements([0.29, 0.1, 0.9]), REQUIRED, params, probs=SURE_CORRECT)
    assert not d.covered[REQUIRED].any()
    assert d.verdict == "partial"
    ticked = decide(judgements([0.31, 0.1, 0.0]), REQUIRED, params, probs=SURE_CORRECT)
    assert ticked.verdict == "correct"


def test_a_stated_misconception_or_contradicted_required_point_is_never_correct():
    params = GradingParams(cover_at=0.3, correct_share=0.0, contradict_at=0.9,
                           wrong_with_substance=0.34)
    stated = decide(judgements([0.9, 0.9, 0.9], stated=(True,)), REQUIRED, params, probs=SURE_CORRECT)
    assert stated.verdict == "partial" and stated.stated.all()
    contradicted = decide(judgements([0.9, 0.0, 0.0], contradicts=(0.0, 0.95, 0.0)), REQUIRED, params,
                          probs=SURE_CORRECT)
    assert contradicted.verdict == "partial" and contradicted.contradicted[1]


def test_a_confident_wrong_claim_with_no_right_substance_is_incorrect():
    params = GradingParams(cover_at=0.3, wrong_with_substance=0.34)
    d = decide(judgements([0.0, 0.0, 0.0], stated=(True,)), REQUIRED, params, probs=np.array([0.2, 0.7, 0.1]))
    assert d.verdict == "incorrect"
    assert d.score <= 0.35  # the top of the incorrect band


def test_code_whose_backward_pass_fails_the_gradient_check_is_never_correct():
    from dataclasses import replace

    from bot.grading.code_check import CodeCheck

    params = GradingParams(cover_at=0.3, correct_share=0.0)
    j = judgements([0.9, 0.9, 0.9])
    wrong = CodeCheck(status="wrong", detail="dW1 does not match the gradient of your loss.", checked=("dW1",))
    verified = CodeCheck(status="verified", detail="", checked=("dW1", "dW2"))
    assert decide(replace(j, code=wrong), REQUIRED, params, probs=SURE_CORRECT).verdict == "partial"
    assert decide(replace(j, code=verified), REQUIRED, params, probs=SURE_CORRECT).verdict == "correct"
    assert decide(j, REQUIRED, params, probs=SURE_CORRECT).verdict == "correct"
