"""Typed results shared by the grader, the retriever, the tutor and the front ends (no I/O here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Verdict = Literal["correct", "partial", "incorrect"]


@dataclass(frozen=True)
class KeyPointResult:
    text: str
    covered: bool
    similarity: float
    required: bool = False  # a correct concise answer must state it (else a bonus point)
    contradicted: bool = False  # the answer states something that contradicts it


@dataclass(frozen=True)
class MisconceptionHit:
    text: str
    correction: str
    similarity: float


@dataclass(frozen=True)
class GradeResult:
    question_id: str
    verdict: Verdict
    score: float  # in [0, 1], after the hint cap
    key_points: list[KeyPointResult]
    misconceptions: list[MisconceptionHit]  # only those the answer triggered
    feedback: str
    reference_answer: str
    notes: list[str] = field(default_factory=list)  # e.g. "graded the first 4000 characters"
    hints_used: int = 0

    @property
    def covered_indices(self) -> list[int]:
        return [i for i, kp in enumerate(self.key_points) if kp.covered]

    @property
    def missed_indices(self) -> list[int]:
        return [i for i, kp in enumerate(self.key_points) if not kp.covered]

    def to_json(self) -> dict:
        """The `grade --json` shape from DESIGN.md (plus `notes` and `hints_used`)."""
        data = asdict(self)
        data["score"] = round(self.score, 4)
        for kp in data["key_points"]:
            kp["similarity"] = round(kp["similarity"], 4)
        for mc in data["misconceptions"]:
            mc["similarity"] = round(mc["similarity"], 4)
        return data


@dataclass(frozen=True)
class SearchHit:
    question_id: str
    score: float
    prompt: str


@dataclass(frozen=True)
class AskResult:
    query: str
    answer: str
    confident: bool
    results: list[SearchHit]

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "answer": self.answer,
            "confident": self.confident,
            "results": [
                {"question_id": h.question_id, "score": round(h.score, 4), "prompt": h.prompt}
                for h in self.results
            ],
        }
