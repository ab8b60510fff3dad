"""What a tutor session hands its front end: the open question, a hint, a reveal, graded feedback."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.enums import Difficulty, Mode
from bot.domain.results import GradeResult, KeyPointResult, MisconceptionHit
from bot.tutor.progress import RecordedAttempt
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry


@dataclass
class Question:
    """The open question (mutable: hints are counted on it)."""

    entry: Entry
    group: str | None
    mode: Mode
    reason: str
    asked_at: float  # session clock, to time the answer
    missed_before: tuple[int, ...] = ()  # review: key point indices the last attempt missed
    hints_used: int = 0
    note: str = ""  # e.g. /next widened the filters: which one it dropped, and how to undo it

    @property
    def hints_total(self) -> int:
        return len(self.entry.hints)


@dataclass(frozen=True)
class Hint:
    text: str
    number: int  # 1-based
    total: int
    max_score: float  # the best score an answer can now get


@dataclass(frozen=True)
class Reveal:
    entry: Entry
    recorded: RecordedAttempt | None
    save_error: str | None = None

    @property
    def reference_answer(self) -> str:
        return self.entry.reference_answer


@dataclass(frozen=True)
class Feedback:
    entry: Entry
    result: GradeResult
    seconds: float
    advice: str  # one actionable paragraph
    related: Entry | None  # a follow-up question worth trying next
    missed_before: tuple[int, ...] = ()  # review mode: key points the previous attempt missed
    recorded: RecordedAttempt | None = None
    save_error: str | None = None  # graded but not saved (storage failed): say so

    @property
    def verdict(self) -> str:
        return self.result.verdict

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def covered(self) -> list[KeyPointResult]:
        return [kp for kp in self.result.key_points if kp.covered]

    @property
    def missed(self) -> list[KeyPointResult]:
        return [kp for kp in self.result.key_points if not kp.covered]

    @property
    def misconceptions(self) -> list[MisconceptionHit]:
        return self.result.misconceptions

    @property
    def reference_answer(self) -> str:
        return self.result.reference_answer

    @property
    def demos(self) -> list[str]:
        return list(self.entry.demos)

    @property
    def review_progress(self) -> list[tuple[str, bool]]:
        """(key point, covered now) for each key point the previous attempt missed."""
        kps = self.result.key_points
        return [(kps[i].text, kps[i].covered) for i in self.missed_before if i < len(kps)]

    @property
    def newly_mastered(self) -> list[str]:
        if self.recorded is None:
            return []
        return [self.entry.key_points[i].text for i in self.recorded.newly_mastered
                if i < len(self.entry.key_points)]


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    questions: int
    by_difficulty: dict[str, int] = field(default_factory=dict)  # "E"/"M"/"H" -> count


def topic_summaries(kb: KnowledgeBase) -> list[TopicSummary]:
    rows = []
    for topic in kb.topics():
        entries = [e for e in kb.entries.values() if topic in e.topic_names]
        counts = {d.value: sum(e.difficulty == d for e in entries) for d in Difficulty}
        rows.append(TopicSummary(topic, len(entries), counts))
    return rows


def advice_for(result: GradeResult) -> str:
    """What to do next, in one paragraph."""
    if not result.covered_indices and not result.misconceptions:
        # Nothing matched: the grader's own explanation says why (keywords, "don't know", echo).
        return result.feedback
    if result.misconceptions:
        return ("Fix the misconception first (see the correction), then say what is true instead. "
                "/ask if the correction is unclear.")
    if result.verdict == "correct":
        if result.missed_indices:
            return "Solid answer. To make it interview-complete, also say the missed points."
        return "Solid answer: every key point covered."
    if result.verdict == "partial":
        return ("Good start. The missed points are what an interviewer would ask about next; "
                "compare with the reference answer.")
    return ("Compare your answer with the reference answer below; /ask about anything unclear, "
            "then /next.")
