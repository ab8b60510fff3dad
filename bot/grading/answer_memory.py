"""Labelled answers to the same question as evidence: the labels of the nearest graded answers.

Learners' answers to one question repeat themselves: the same confusions come back in other words,
and so do the right ideas. An answer close (MiniLM cosine of the whole answer) to labelled answers
of its question is likely to share their label; the verdict model reads that as a few more inputs
(bot.grading.features.MemoryFeatures) beside the key-point judgements.

The memory holds the development answers only (MEMORY_FILES), never a test set. Its vectors are
computed once and cached beside the index, rebuilt when the files or the model change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.grading.features import MemoryFeatures
from bot.grading.verdict_model import VERDICTS
from index.store import atomic_write
from knowledge.loader import PACKAGE_DIR

log = logging.getLogger(__name__)

DATA_DIR = PACKAGE_DIR / "data"  # installed with the package (pyproject: package-data)
MEMORY_FILES = ("grading_dev.jsonl", "blind_dev.jsonl", "blind_dev2.jsonl", "blind_dev3.jsonl", "blind_dev4.jsonl",
                "blind_dev5.jsonl", "blind_dev6.jsonl", "blind_dev7.jsonl", "blind_dev8.jsonl")  # no test file
FORMAT = "canonical-text-1"  # how answers become vectors; changing it makes cached memories stale
NEIGHBOURS = 5  # the label vote reads this many nearest answers ...
TEMPERATURE = 0.05  # ... weighted by exp(cosine / TEMPERATURE): a closer answer counts far more
FILE_NAME = "answer_memory.npz"
TEAM = "team"  # the writer of rows without one (grading_dev.jsonl: the first build's team)


def writer_of(row: dict) -> str:
    """Who wrote a labelled row (TEAM when the row does not say)."""
    return row.get("writer") or TEAM


def memory_features(sims: np.ndarray, labels: np.ndarray) -> MemoryFeatures:
    """Pure logic: features from the cosines of one answer to labelled answers of its question
    (`labels`: their label indices in VERDICTS). No labelled answers: the neutral, empty memory."""
    if len(sims) == 0:
        return MemoryFeatures.empty_memory()
    best = [float(sims[labels == k].max()) if (labels == k).any() else 0.0 for k in range(len(VERDICTS))]
    top = np.argsort(-sims, kind="stable")[:NEIGHBOURS]
    weights = np.exp((sims[top] - sims[top].max()) / TEMPERATURE)
    vote = [float(weights[labels[top] == k].sum() / weights.sum()) for k in range(len(VERDICTS))]
    return MemoryFeatures(best_correct=best[0], best_partial=best[1], best_incorrect=best[2],
                          vote_correct=vote[0], vote_partial=vote[1], vote_incorrect=vote[2],
                          best_margin=best[0] - best[2], empty=0.0)


def files_hash(files: list[Path], model: str) -> str:
    digest = hashlib.sha256(f"{FORMAT}\x1f{model}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AnswerMemory:
    vectors: np.ndarray  # (N, D) unit-length vectors of the labelled answers
    question_ids: np.ndarray  # (N,) str
    labels: np.ndarray  # (N,) index into VERDICTS
    writers: np.ndarray  # (N,) str: who wrote each answer (TEAM for the team's)
    texts: np.ndarray  # (N,) str: the answers (an answer is never its own evidence)
    data_hash: str

    @classmethod
    def build(cls, encode: Callable[[list[str]], np.ndarray], prepare: Callable[[str], str], model: str,
              files: list[Path] | None = None) -> AnswerMemory:
        """`prepare`: answer -> the text the grader encodes (PreparedAnswer.canonical_text)."""
        files = files if files is not None else [DATA_DIR / name for name in MEMORY_FILES]
        rows = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
        texts = [prepare(r["answer"]) for r in rows]
        vectors = encode(texts) if rows else np.zeros((0, 1), dtype=np.float32)
        return cls(np.asarray(vectors, dtype=np.float32), np.array([r["question_id"] for r in rows], dtype=str),
                   np.array([VERDICTS.index(r["label"]) for r in rows], dtype=int),
                   np.array([writer_of(r) for r in rows], dtype=str),
                   np.array(texts, dtype=str), files_hash(files, model))

    def features(self, question_id: str, vector: np.ndarray, answer: str | None = None,
                 without_writer: str | None = None) -> MemoryFeatures:
        """`vector`: the answer's unit vector. `answer`: its canonical text, so a labelled answer is
        never its own evidence. `without_writer`: leave out that writer's answers (measuring new writers)."""
        keep = self.question_ids == question_id
        if answer is not None:
            keep &= self.texts != answer
        if without_writer is not None:
            keep &= self.writers != without_writer
        return memory_features(self.vectors[keep] @ vector, self.labels[keep])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            with tmp.open("wb") as fh:  # a file object: np.savez adds no suffix
                np.savez(fh, vectors=self.vectors, question_ids=self.question_ids, labels=self.labels,
                         writers=self.writers, texts=self.texts, data_hash=np.array(self.data_hash))

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> AnswerMemory:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["vectors"], z["question_ids"], z["labels"], z["writers"], z["texts"], str(z["data_hash"]))


def load_or_build(directory: Path, encode: Callable[[list[str]], np.ndarray], prepare: Callable[[str], str],
                  model: str) -> AnswerMemory:
    """The cached memory when it matches the labelled files and the model; otherwise build and save."""
    path = directory / FILE_NAME
    want = files_hash([DATA_DIR / name for name in MEMORY_FILES], model)
    if path.exists():
        try:
            memory = AnswerMemory.load(path)
            if memory.data_hash == want:
                return memory
            log.info("rebuilding the answer memory: labelled answers or model changed")
        except (OSError, ValueError, KeyError) as exc:
            log.warning("rebuilding the answer memory: saved copy unreadable (%s)", exc)
    memory = AnswerMemory.build(encode, prepare, model)
    memory.save(path)
    return memory
