"""Grading with the real model: what a person answering would notice."""

from __future__ import annotations

import numpy as np
import pytest

from bot.errors import EmptyAnswer, UnknownQuestion

ZERO_INIT_GOOD = (
    "If every weight starts at zero, all hidden units in a layer compute the same value and get "
    "exactly the same gradient, so they receive identical updates and stay copies of each other "
    "forever; the layer acts like one neuron. Random initialisation (Xavier or He) breaks that "
    "symmetry. Biases can still start at zero."
)


def test_a_full_paraphrase_is_correct(grader):
    result = grader.grade("8.3.65", ZERO_INIT_GOOD)
    assert result.verdict == "correct"
    assert result.score >= 0.7
    assert sum(kp.covered for kp in result.key_points) >= 3
    assert result.misconceptions == []


def test_a_stated_misconception_is_caught_and_corrected(grader):
    result = grader.grade(
        "8.3.65",
        "Zero initialization is fine, gradient descent will move the weights apart after the "
        "first update anyway, it just trains a bit slower.",
    )
    assert result.verdict == "incorrect"
    assert result.misconceptions, "the misconception should be listed"
    assert "same gradient" in result.misconceptions[0].correction or result.misconceptions[0].correction


def test_reversed_claim_is_not_accepted(grader):
    result = grader.grade(
        "8.3.54",
        "Batch norm normalizes each example across its features, while layer norm normalizes each "
        "feature across the examples in the mini-batch, so layer norm depends on the batch size.",
    )
    assert result.verdict != "correct"


@pytest.mark.parametrize(
    "answer",
    [
        "Why don't we simply initialize every weight of a neural network to zero?",  # echo
        "zero init, symmetry, gradients, xavier, he, random",  # keywords
        "I don't know",
        "Pizza is best with fresh basil and a very hot oven, bake it for ninety seconds.",
    ],
    ids=["echo", "keywords", "dont-know", "off-topic"],
)
def test_answers_without_claims_are_incorrect(grader, answer):
    result = grader.grade("8.3.65", answer)
    assert result.verdict == "incorrect"
    assert result.score < 0.3


def test_partial_answer_gets_partial_credit(grader):
    result = grader.grade("8.3.65", "With zero weights every hidden unit gets the same gradient, "
                          "so they all learn the same thing.")
    assert result.verdict == "partial"
    assert [kp for kp in result.key_points if not kp.covered]
    assert "Missing" in result.feedback


def test_hints_cap_the_score_not_the_verdict(grader):
    free = grader.grade("8.3.65", ZERO_INIT_GOOD)
    hinted = grader.grade("8.3.65", ZERO_INIT_GOOD, hints_used=2)
    assert hinted.verdict == free.verdict
    assert hinted.score <= 1 - 2 * grader.params.hint_cost + 1e-9
    assert hinted.score < free.score or free.score <= 0.7


def test_huge_answer_is_graded_on_a_bounded_prefix(grader):
    result = grader.grade("8.3.65", ZERO_INIT_GOOD + " filler words here." * 1200)
    assert any("first" in note for note in result.notes)
    assert result.verdict in ("correct", "partial", "incorrect")


def test_non_english_answer_is_graded_with_a_note(grader):
    result = grader.grade("8.3.65", "如果所有权重都初始化为零，每个神经元都会得到相同的梯度。")
    assert any("English" in note for note in result.notes)


def test_emoji_and_code_blocks_do_not_break_grading(grader):
    result = grader.grade("8.3.43.1", "```python\nh = np.maximum(0, X @ W1 + b1)  # 🚀\nscores = h @ W2 + b2\n```")
    assert 0.0 <= result.score <= 1.0


def test_bad_input_raises_clear_errors(grader):
    with pytest.raises(EmptyAnswer):
        grader.grade("8.3.65", "   \n ")
    with pytest.raises(UnknownQuestion) as err:
        grader.grade("8.3.655", "anything")
    assert "8.3.65" in str(err.value)


def test_batched_grading_matches_one_at_a_time(grader):
    items = [("8.3.65", ZERO_INIT_GOOD, 0), ("8.3.62", "They collapse into one linear layer.", 0),
             ("8.3.54", "I don't know", 0)]
    together = grader.grade_many(items)
    alone = [grader.grade(q, a, h) for q, a, h in items]
    assert [r.verdict for r in together] == [r.verdict for r in alone]
    assert np.allclose([r.score for r in together], [r.score for r in alone], atol=1e-3)


def test_json_shape_matches_the_contract(grader):
    data = grader.grade("8.3.65", ZERO_INIT_GOOD).to_json()
    assert {"question_id", "verdict", "score", "key_points", "misconceptions", "feedback",
            "reference_answer"} <= set(data)
    assert set(data["key_points"][0]) >= {"text", "covered", "similarity"}
