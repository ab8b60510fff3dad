"""Grading with the real models: what a person answering would notice, and the grader's invariants."""

from __future__ import annotations

import numpy as np
import pytest

from bot.domain.errors import EmptyAnswer, UnknownQuestion
from tests.numpy_answers import TWO_LAYER_SOFTMAX

RANK = {"incorrect": 0, "partial": 1, "correct": 2}

ZERO_INIT_GOOD = (
    "If every weight starts at zero, all hidden units in a layer compute the same value and get "
    "exactly the same gradient, so they receive identical updates and stay copies of each other "
    "forever; the layer acts like one neuron. Random initialisation (Xavier or He) breaks that "
    "symmetry. Biases can still start at zero."
)

TWO_LAYER_CODE = "```python\n" + TWO_LAYER_SOFTMAX + "```"


def test_a_full_paraphrase_is_correct(grader):
    result = grader.grade("8.3.65", ZERO_INIT_GOOD)
    assert result.verdict == "correct"
    assert result.score >= 0.7
    assert all(kp.covered for kp in result.key_points if kp.required)
    assert result.misconceptions == []


@pytest.mark.xfail(strict=True, reason="known gap of this grader (issue 11): a formula-only answer is still graded partial")
def test_a_terse_correct_answer_is_correct(grader):
    result = grader.grade("8.3.42", "θ ← θ − η ∇L(θ): step against the gradient, η = learning rate.")
    assert result.verdict == "correct", result.feedback


def test_a_stated_misconception_is_caught_and_corrected(grader):
    result = grader.grade(
        "8.3.65",
        "Zero initialization is fine, gradient descent will move the weights apart after the "
        "first update anyway, it just trains a bit slower.",
    )
    assert result.verdict == "incorrect"
    assert result.misconceptions, "the misconception should be listed"
    claims = [m.claim for m in grader.kb.get("8.3.65").misconceptions]
    hit = result.misconceptions[0]
    assert hit.text in claims
    assert hit.correction in result.feedback
    assert not any(kp.covered for kp in result.key_points if kp.required)


@pytest.mark.parametrize(("qid", "answer"), [
    ("8.3.54", "Batch norm normalizes each example across its features, while layer norm normalizes "
               "each feature across the examples in the mini-batch, so layer norm depends on the batch size."),
    ("8.3.53.2", "Warmup means lowering the learning rate at the end of training so it converges."),
    ("8.3.43.2", "Dropout permanently deletes the smallest weights of the network during training."),
    ("8.3.58.3", "When you increase the batch size you should decrease the learning rate."),
], ids=["bn-ln-swapped", "warmup-at-end", "dropout-deletes-weights", "batch-up-lr-down"])
def test_confident_wrong_claims_are_incorrect(grader, qid, answer):
    result = grader.grade(qid, answer)
    assert result.verdict == "incorrect", result.feedback


@pytest.mark.parametrize(
    "answer",
    [
        "Why don't we simply initialize every weight of a neural network to zero?",  # echo
        "I don't know",
        "Pizza is best with fresh basil and a very hot oven, bake it for ninety seconds.",
    ],
    ids=["echo", "dont-know", "off-topic"],
)
def test_answers_without_claims_are_incorrect(grader, answer):
    result = grader.grade("8.3.65", answer)
    assert result.verdict == "incorrect"
    assert result.score < 0.35
    assert not any(kp.covered for kp in result.key_points)


def test_partial_answer_gets_partial_credit(grader):
    result = grader.grade("8.3.65", "With zero weights every hidden unit gets the same gradient.")
    assert result.verdict == "partial"
    assert any(kp.covered for kp in result.key_points)
    assert [kp for kp in result.key_points if kp.required and not kp.covered]
    assert "Missing" in result.feedback


def test_a_list_answer_is_judged_on_its_content(grader):
    result = grader.grade("8.3.65", "- zero init -> every hidden unit same output, same gradient\n"
                                    "- same updates -> units stay identical forever\n"
                                    "- fix: random init (Xavier/He) breaks the symmetry")
    assert result.verdict == "correct", result.feedback


def test_correct_numpy_code_is_correct(grader):
    result = grader.grade("8.3.43.1", TWO_LAYER_CODE)
    assert result.verdict == "correct", result.feedback
    assert "gradients match a numerical gradient check" in result.feedback


def test_a_wrong_backward_pass_is_not_correct(grader):
    # The code is run (bot.grading.code_check): swapped transposes fail on shapes, and the ReLU
    # gradient taken from the activation instead of the mask fails the numerical check.
    wrong = TWO_LAYER_CODE.replace("dW2 = a.T @ dscores", "dW2 = dscores @ a.T").replace(
        "dW1 = X.T @ dh", "dW1 = dh @ X.T").replace("dh = da * (h > 0)", "dh = da * a")
    for code in (wrong, TWO_LAYER_CODE.replace("dh = da * (h > 0)", "dh = da * a")):
        result = grader.grade("8.3.43.1", code)
        assert result.verdict != "correct", result.feedback
        assert "I ran your code: " in result.feedback


def test_hints_cap_the_score_not_the_verdict(grader):
    free = grader.grade("8.3.65", ZERO_INIT_GOOD)
    hinted = grader.grade("8.3.65", ZERO_INIT_GOOD, hints_used=2)
    assert hinted.verdict == free.verdict == "correct"
    assert hinted.score <= 1 - 2 * grader.params.hint_cost + 1e-9
    assert hinted.score < free.score
    assert any("capped" in note for note in hinted.notes)


def test_huge_answer_is_graded_on_a_bounded_prefix(grader):
    result = grader.grade("8.3.65", ZERO_INIT_GOOD + " Filler words here." * 1200)
    assert any("first 4000 characters" in note for note in result.notes)
    assert result.verdict == "correct"


def test_non_english_answer_is_graded_with_a_note(grader):
    result = grader.grade("8.3.65", "如果所有权重都初始化为零，每个神经元都会得到相同的梯度。")
    assert any("English" in note for note in result.notes)
    assert result.verdict != "correct"


def test_emoji_and_code_fences_keep_a_correct_answer_correct(grader):
    result = grader.grade("8.3.65", "🚀 " + ZERO_INIT_GOOD + " 🎉\n```\nW = np.random.randn(d, h) * np.sqrt(2 / d)\n```")
    assert result.verdict == "correct", result.feedback


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
    assert data["verdict"] == "correct"
    assert set(data["key_points"][0]) >= {"text", "covered", "similarity", "required"}
    assert any(kp["required"] for kp in data["key_points"])


def test_ticks_and_verdict_agree(grader):
    for answer in (ZERO_INIT_GOOD, "With zero weights every hidden unit gets the same gradient.", "I don't know"):
        r = grader.grade("8.3.65", answer)
        required = [kp.covered for kp in r.key_points if kp.required]
        if r.verdict == "correct":
            assert all(required) and not r.misconceptions
        if not any(kp.covered for kp in r.key_points):
            assert r.verdict == "incorrect"


# --- invariants, over the whole knowledge base ----------------------------------------------------


def not_fully_correct(grader, items) -> list:
    """The items not graded correct with every required point ✓ and no misconception flagged."""
    failures = []
    for (qid, _, _), r in zip(items, grader.grade_many(items), strict=True):
        missed = [kp.text for kp in r.key_points if kp.required and not kp.covered]
        if r.verdict != "correct" or missed or r.misconceptions:
            failures.append((qid, r.verdict, missed, [m.text for m in r.misconceptions]))
    return failures


@pytest.mark.xfail(strict=True, reason="known gap (issue 11): 59 of 60 pass; 8.3.45's opening sentence (skip "
                   "connections make deep networks easier to optimize) sits at cosine 0.87 to the claim that they only "
                   "solve vanishing gradients, so that misconception is flagged and the grade is partial")
def test_every_reference_answer_is_correct_for_its_own_entry(grader, kb):
    items = [(qid, e.reference_answer, 0) for qid, e in kb.entries.items()]
    assert not not_fully_correct(grader, items)


def test_every_entrys_key_points_stated_together_are_correct(grader, kb):
    """What the Discord flows send as a full answer: every key point, with every required one ✓."""
    items = [(qid, " ".join(e.key_point_texts) + suffix, 0) for qid, e in kb.entries.items()
             for suffix in ("", " secret-ana-1")]
    assert not not_fully_correct(grader, items)


def test_every_misconception_claim_alone_is_incorrect(grader, kb):
    items = [(qid, m.claim, 0) for qid, e in kb.entries.items() for m in e.misconceptions]
    failures = [(qid, claim, r.verdict) for (qid, claim, _), r in zip(items, grader.grade_many(items), strict=True)
                if r.verdict != "incorrect"]
    assert not failures, failures


def test_another_questions_reference_is_never_correct(grader, kb):
    entries = sorted(kb.entries.values(), key=lambda e: e.id)
    items = []
    for i, entry in enumerate(entries):
        group = entry.parent or entry.id
        # The nearest kind of impostor: other questions on the same topic, then the next ones along.
        same_topic = [o for o in entries if (o.parent or o.id) != group and set(o.topics) & set(entry.topics)]
        others = (same_topic + [entries[(i + k) % len(entries)] for k in (1, 2)])[:3]
        items += [(entry.id, o.reference_answer, 0) for o in others if (o.parent or o.id) != group]
    failures = [(qid, answer[:60]) for (qid, answer, _), r in zip(items, grader.grade_many(items), strict=True)
                if r.verdict == "correct"]
    assert not failures, failures


def test_repeating_or_reordering_never_raises_the_grade(grader, kb):
    import random

    answers = [
        ("8.3.65", "With zero weights every hidden unit gets the same gradient. So they learn the same thing."),
        ("8.3.65", ZERO_INIT_GOOD),
        ("8.3.62", "Two linear layers compose into one linear map. You gain no expressive power. Add a ReLU."),
        ("8.3.41", "Overfit first. It shows the model and pipeline can learn. Then regularize."),
    ]
    rng = random.Random(3)
    for qid, text in answers:
        base = grader.grade(qid, text)
        sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
        variants = [" ".join([sentences[0]] * 40 + sentences[1:]), (text + " ") * 3]
        for _ in range(3):
            shuffled = sentences[:]
            rng.shuffle(shuffled)
            variants.append(" ".join(shuffled))
        for variant in variants:
            r = grader.grade(qid, variant)
            assert RANK[r.verdict] <= RANK[base.verdict], (qid, variant[:80])
            assert r.score <= base.score + 1e-6, (qid, variant[:80])
