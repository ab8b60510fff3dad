"""The grading cross-encoder: the training pipeline on a tiny slice, both backends, the shipped card."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bot.grading.judge import MODEL_DIR, Judge
from bot.grading.judge_data import LABELS, build_examples, read_pairs

PAIRS = [
    ("Each hidden unit gets the same gradient when all weights start equal.",
     "If the weights are all zero every neuron receives an identical gradient, so they never differ."),
    ("Each hidden unit gets the same gradient when all weights start equal.",
     "Pizza is best baked in a very hot oven."),
    ("A larger batch calls for a larger learning rate.",
     "With a bigger batch you should lower the learning rate."),
]


def test_training_data_is_reproducible_and_labelled(kb):
    first = build_examples(kb.entries.values(), seed=5)
    again = build_examples(kb.entries.values(), seed=5)
    assert first == again
    assert {e.label for e in first} == set(LABELS)
    sources = {e.source for e in first}
    assert {"beetle", "pair", "composite", "reference", "cross-reference", "sibling", "echo"} <= sources
    # Every written pair names a real target text: a key point or a misconception claim.
    targets = {t for e in kb.entries.values() for t in e.key_point_texts} | {
        m.claim for e in kb.entries.values() for m in e.misconceptions}
    pairs = read_pairs()
    assert sum(p["target"] in targets for p in pairs) / len(pairs) > 0.95


def test_train_on_a_tiny_slice_writes_a_loadable_model_with_a_card(tmp_path):
    out = tmp_path / "judge"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "train", "--out", str(out), "--limit", "48", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["examples"] == 48
    card = json.loads((out / "card.json").read_text())
    assert card["settings"]["seed"] == 13 and card["limit"] == 48
    assert all(len(digest) == 64 for digest in card["data"].values())
    assert "## Data" in (out / "MODEL_CARD.md").read_text()
    probs = Judge(model_dir=out).probabilities(PAIRS[:1])
    assert probs.shape == (1, 3) and np.isclose(probs.sum(), 1.0, atol=1e-4)


def test_train_refuses_bad_arguments():
    done = subprocess.run([sys.executable, "-m", "bot.cli", "train", "--limit", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--limit" in done.stderr


def test_the_shipped_model_has_its_card():
    card = json.loads((MODEL_DIR / "card.json").read_text())
    assert card["limit"] is None and card["examples"] > 10000
    assert (MODEL_DIR / "model.safetensors").stat().st_size < 50 * 2**20
    assert card["metrics"]["beetle"]["splits"]["test_ua"]["accuracy"] > 0.6


@pytest.fixture(scope="module")
def judges(tmp_path_factory):
    return Judge(backend="torch"), Judge(backend="onnx", cache_dir=tmp_path_factory.mktemp("onnx"))


def test_onnx_and_torch_give_the_same_judgements(judges):
    torch_judge, onnx_judge = judges
    a, b = torch_judge.probabilities(PAIRS), onnx_judge.probabilities(PAIRS)
    assert np.abs(a - b).max() < 1e-3
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()


@pytest.mark.xfail(strict=True, reason="known gap (issue 11): the cross-encoder reads 'never differ' "
                   "as a contradiction and a reversed batch-size rule as covering it")
def test_the_judge_tells_covers_from_unrelated_and_contradicts(judges):
    probs = judges[1].probabilities(PAIRS)
    assert [LABELS[i] for i in probs.argmax(axis=1)] == ["covers", "unrelated", "contradicts"]


@pytest.mark.xfail(strict=True, reason="known gap (issue 11): the shipped model judges 276 of 337 key points as "
                   "contradicting their own text; its training data shows a target's wording almost only in "
                   "minimal-edit contradictions (README, ninth session)")
def test_a_key_point_stated_in_its_own_words_is_covered(kb, judges):
    points = [k for e in kb.entries.values() for k in e.key_point_texts]
    probs = judges[1].probabilities([(k, k) for k in points])
    assert (probs.argmax(axis=1) == LABELS.index("covers")).mean() >= 0.95
    lower = judges[1].probabilities([(k, k.lower().rstrip(".")) for k in points])
    assert (lower.argmax(axis=1) == LABELS.index("covers")).mean() >= 0.9


def test_long_answers_are_judged_in_windows(judges):
    judge = judges[1]
    filler = [f"Sentence number {i} talks about data loading and logging." for i in range(40)]
    sentences = [*filler, "Zero weights give every hidden unit an identical gradient, so they never differ."]
    windows = judge.answer_windows(sentences)
    assert len(windows) > 1
    probs = judge.judge([PAIRS[0][0]], windows)
    assert LABELS[int(probs[0].argmax())] == "covers"


def test_the_int8_judge_gives_a_pair_the_same_result_alone_or_batched(tmp_path_factory):
    judge = Judge(backend="onnx", cache_dir=tmp_path_factory.mktemp("onnx-int8"), int8=True)
    together = judge.probabilities(PAIRS)
    alone = np.vstack([judge.probabilities([pair]) for pair in PAIRS])
    assert np.array_equal(together, alone)
    assert judge.int8


def test_the_int8_judge_stays_close_to_fp32(judges, tmp_path_factory):
    int8 = Judge(backend="onnx", cache_dir=tmp_path_factory.mktemp("onnx-int8-close"), int8=True)
    fp32 = judges[1].probabilities(PAIRS)
    # Measured: within 0.09 in probability on these pairs; each pair keeps its most likely label.
    assert np.abs(int8.probabilities(PAIRS) - fp32).max() < 0.15
    assert (int8.probabilities(PAIRS).argmax(axis=1) == fp32.argmax(axis=1)).all()
