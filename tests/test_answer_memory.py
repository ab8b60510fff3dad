"""The labelled-answer memory (bot/grading/answer_memory.py): what the nearest labelled answers say,
that an answer is never its own evidence, and that the cached vectors survive bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.grading import answer_memory
from bot.grading.answer_memory import MEMORY_FILES, AnswerMemory, load_or_build, memory_features
from bot.grading.features import MemoryFeatures


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_nearest_labelled_answers_vote_and_the_best_cosines_are_kept():
    sims = np.array([0.95, 0.60, 0.40, 0.90])
    labels = np.array([2, 0, 1, 2])  # incorrect, correct, partial, incorrect
    f = memory_features(sims, labels)
    assert f.best_incorrect == pytest.approx(0.95) and f.best_correct == pytest.approx(0.60)
    assert f.best_margin == pytest.approx(0.60 - 0.95)
    assert f.vote_incorrect > 0.99  # the two closest are incorrect and far closer than the rest
    assert f.vote_correct + f.vote_partial + f.vote_incorrect == pytest.approx(1.0)
    assert f.empty == 0.0


def test_no_labelled_answers_is_the_empty_memory():
    assert memory_features(np.array([]), np.array([], dtype=int)) == MemoryFeatures.empty_memory()
    assert MemoryFeatures.empty_memory().empty == 1.0


def memory() -> AnswerMemory:
    return AnswerMemory(
        vectors=np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(1, 1, 0), unit(0, 0, 1)]),
        question_ids=np.array(["q1", "q1", "q1", "q2"]),
        labels=np.array([0, 2, 1, 0]),
        writers=np.array(["W1", "W2", "W1", "W2"]),
        texts=np.array(["right", "wrong", "half", "other question"]),
        data_hash="x",
    )


def test_only_answers_to_the_same_question_count():
    f = memory().features("q1", unit(0, 0, 1))  # close only to q2's answer
    assert f.best_correct == pytest.approx(0.0) and f.best_incorrect == pytest.approx(0.0)
    assert memory().features("q3", unit(1, 0, 0)) == MemoryFeatures.empty_memory()


def test_an_answer_is_never_its_own_evidence():
    m = memory()
    assert m.features("q1", unit(0, 1, 0)).best_incorrect == pytest.approx(1.0)
    assert m.features("q1", unit(0, 1, 0), answer="wrong").best_incorrect == 0.0


def test_leaving_a_writer_out_drops_all_of_their_answers():
    f = memory().features("q1", unit(1, 0, 0), without_writer="W1")
    assert f.best_correct == 0.0 and f.best_partial == 0.0 and f.vote_incorrect == pytest.approx(1.0)


def test_the_memory_holds_no_test_set():
    assert not any("test" in name for name in MEMORY_FILES)


def test_cached_vectors_are_reused_rebuilt_when_the_data_changes_and_survive_a_corrupt_file(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in MEMORY_FILES:
        (data / name).write_text(json.dumps({"question_id": "q1", "answer": f"an answer in {name}",
                                             "label": "correct"}) + "\n")
    monkeypatch.setattr(answer_memory, "DATA_DIR", data)
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return np.tile(unit(1, 0), (len(texts), 1))

    n = len(MEMORY_FILES)
    first = load_or_build(tmp_path / "index", encode, str.upper, "m")
    assert calls == [n] and list(first.texts) == [f"AN ANSWER IN {n.upper()}" for n in MEMORY_FILES]
    load_or_build(tmp_path / "index", encode, str.upper, "m")
    assert calls == [n]  # cached
    load_or_build(tmp_path / "index", encode, str.upper, "another model")
    assert calls == [n, n]  # a new model: new vectors
    (tmp_path / "index" / answer_memory.FILE_NAME).write_bytes(b"not a numpy file")
    rebuilt = load_or_build(tmp_path / "index", encode, str.upper, "another model")
    assert calls == [n, n, n] and len(rebuilt.texts) == n
    with (data / MEMORY_FILES[0]).open("a") as fh:
        fh.write(json.dumps({"question_id": "q1", "answer": "one more", "label": "incorrect"}) + "\n")
    assert len(load_or_build(tmp_path / "index", encode, str.upper, "another model").texts) == n + 1
