"""Per-user progress: attempts, spaced-repetition reviews, key point mastery, stats, leaderboards.

Pure: records and the figures computed from them. bot.storage.progress.ProgressStore reads and
writes the rows; the functions here, which the tests exercise directly, turn them into figures.

Mastery and readiness
---------------------
A key point earns credit 1 when mastered (covered in 2 attempts in a row, see bot.tutor.scheduling),
0.5 when the latest attempt covered it but mastery is not confirmed yet ("learning"), else 0.
A topic's total is *every* key point of every entry with that topic, attempted or not, so
"optimization: 4 of 31 key points mastered" measures the whole topic.

    readiness = round(100 * sum over topics of credit / sum over topics of total key points)

i.e. mastery coverage across topics weighted by topic size (a big topic such as optimization
comes up more often in interviews); an entry with two topics counts in both.

Weakest topics: topics the user has attempted come first, lowest credit ratio first; topics never
attempted follow (largest first). A weak spot is something the answers have shown; untouched
topics would otherwise fill the list identically for every newcomer (picking new questions is the
job of `seen_question_ids`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple, Protocol

from bot.tutor.scheduling import ReviewState

LEARNING_CREDIT = 0.5


class _EntryLike(Protocol):
    @property
    def topic_names(self) -> list[str]: ...

    @property
    def key_points(self) -> Sequence[object]: ...  # only their number matters here


class KnowledgeLike(Protocol):
    """What stats need from knowledge.loader.KnowledgeBase (tests pass a small fake)."""

    @property
    def entries(self) -> Mapping[str, _EntryLike]: ...


# --- results ----------------------------------------------------------------------------------


class DueReview(NamedTuple):
    question_id: str
    due_at: datetime  # the earliest of the question's and its missed key points' due dates
    missed_key_points: tuple[int, ...]  # key point indices the latest attempt missed


class AttemptRow(NamedTuple):
    question_id: str
    answer: str
    verdict: str
    score: float
    hints_used: int
    seconds: float | None
    guild_id: str | None
    created_at: datetime


class LeaderboardRow(NamedTuple):
    user_id: str
    points: float  # sum of scores
    attempts: int


@dataclass(frozen=True)
class RecordedAttempt:
    attempt_id: int
    quality: int  # SM-2 quality derived from the grade
    review: ReviewState  # the question's new schedule
    newly_mastered: tuple[int, ...]  # key point indices mastered by this attempt


@dataclass(frozen=True)
class TopicMastery:
    topic: str
    mastered: int
    learning: int  # covered by the latest attempt, mastery not yet confirmed
    total: int  # all key points of all entries with this topic
    questions_attempted: int
    questions_total: int

    @property
    def credit(self) -> float:
        return self.mastered + LEARNING_CREDIT * self.learning

    @property
    def ratio(self) -> float:
        return self.credit / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.topic}: {self.mastered} of {self.total} key points mastered"


@dataclass(frozen=True)
class UserStats:
    user_id: str
    attempts: int
    correct: int
    average_score: float  # 0.0 before the first attempt
    current_streak: int  # consecutive UTC days with an attempt, ending today or yesterday
    best_streak: int
    questions_attempted: int
    questions_total: int
    due_count: int
    topics: list[TopicMastery]
    readiness: int  # 0-100, see the module docstring
    readiness_summary: str

    def to_json(self) -> dict:
        data = asdict(self)
        data["average_score"] = round(self.average_score, 4)
        return data


# --- pure logic -------------------------------------------------------------------------------


def day_streaks(days: Iterable[date], today: date) -> tuple[int, int]:
    """(current, best) runs of consecutive days; the current run must end today or yesterday."""
    ordered = sorted({d for d in days if d <= today})
    best = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return current, best


def collect_due(
    review_due: Mapping[str, datetime],
    missed: Mapping[str, Sequence[tuple[int, datetime]]],
    now: datetime,
    limit: int | None = None,
) -> list[DueReview]:
    """Questions due by SM-2 or through a missed key point, most overdue first.

    `review_due`: question -> SM-2 due date (may hold only the due ones); `missed`: question ->
    [(key point index, due date)] of the key points the latest attempt missed.
    """
    due: dict[str, datetime] = {}
    for question_id, when in review_due.items():
        if when <= now:
            due[question_id] = when
    for question_id, points in missed.items():
        for _, when in points:
            if when <= now:
                due[question_id] = min(due.get(question_id, when), when)
    ordered = sorted(due.items(), key=lambda item: (item[1], item[0]))
    if limit is not None:
        ordered = ordered[:limit]
    return [
        DueReview(q, when, tuple(sorted(i for i, _ in missed.get(q, ())))) for q, when in ordered
    ]


def topic_mastery(
    entries: Mapping[str, _EntryLike],
    key_points: Iterable[tuple[str, int, bool, int]],
    attempted: Iterable[str],
) -> list[TopicMastery]:
    """Per-topic mastery, by topic name. `key_points`: (question, index, mastered, streak) rows;
    rows for questions or indices the knowledge base no longer has are ignored."""
    state: dict[tuple[str, int], tuple[bool, int]] = {
        (q, i): (mastered, streak) for q, i, mastered, streak in key_points
    }
    seen = set(attempted)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for question_id, entry in entries.items():
        for topic in entry.topic_names:
            c = counts[topic]
            c["total"] += len(entry.key_points)
            c["questions_attempted"] += question_id in seen
            c["questions_total"] += 1
            for index in range(len(entry.key_points)):
                mastered, streak = state.get((question_id, index), (False, 0))
                if mastered:
                    c["mastered"] += 1
                elif streak > 0:
                    c["learning"] += 1
    fields = ("mastered", "learning", "total", "questions_attempted", "questions_total")
    return [TopicMastery(t, *(c[f] for f in fields)) for t, c in sorted(counts.items())]


def rank_weakest(topics: Iterable[TopicMastery], n: int | None = None) -> list[TopicMastery]:
    """Attempted topics by ascending credit ratio, then untouched topics, largest first."""
    ranked = sorted(
        topics,
        key=lambda t: (
            t.questions_attempted == 0,
            t.ratio if t.questions_attempted else -t.total,
            t.topic,
        ),
    )
    return ranked if n is None else ranked[:n]


_BANDS = (
    (20, "just getting started"),
    (45, "building up"),
    (70, "getting there"),
    (90, "nearly interview-ready"),
    (101, "interview-ready"),
)


def readiness(topics: Sequence[TopicMastery], mastered: int | None = None) -> tuple[int, str]:
    """A 0-100 figure (see the module docstring) and one sentence explaining it.

    `mastered` is the number of distinct key points mastered; summing over topics would count a
    key point of a two-topic question twice.
    """
    total = sum(t.total for t in topics)
    if not total:
        return 0, "No questions in the knowledge base yet."
    score = round(100 * sum(t.credit for t in topics) / total)
    attempted = [t for t in topics if t.questions_attempted]
    if not attempted:
        return 0, "Readiness 0/100: answer a first question to start tracking your progress."
    band = next(label for limit, label in _BANDS if score < limit)
    if mastered is None:
        mastered = sum(t.mastered for t in topics)
    sentence = (
        f"Readiness {score}/100, {band}: {mastered} key points mastered, "
        f"{len(attempted)} of {len(topics)} topics practised"
    )
    weakest = rank_weakest(topics, 1)[0]
    if weakest.ratio < 1:
        sentence += (
            f"; focus next on {weakest.topic} "
            f"({weakest.mastered} of {weakest.total} key points mastered)"
        )
    return score, sentence + "."
