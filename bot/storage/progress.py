"""Per-user progress: attempts, spaced-repetition reviews, key point mastery, stats, leaderboards.

`ProgressStore` is the only I/O here (SQLAlchemy Core over the async engine of bot.storage.database; the same
statements run on SQLite and PostgreSQL). The figures it reports are computed by the pure
functions in the first half of this module, which the tests exercise directly.

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

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from alembic.util import CommandError
from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.results import GradeResult
from bot.storage.database import (
    DEFAULT_BUSY_TIMEOUT_MS,
    StorageError,
    attempts,
    create_engine,
    database_label,
    key_point_progress,
    normalize_url,
    reviews,
    sqlite_path,
    storage_error,
    upgrade_database,
    writer,
)
from bot.tutor.scheduling import (
    KeyPointState,
    ReviewState,
    next_key_point_state,
    next_state,
    quality_from_grade,
)

__all__ = [
    "AttemptRow",
    "DueReview",
    "LeaderboardRow",
    "ProgressStore",
    "RecordedAttempt",
    "StorageError",
    "TopicMastery",
    "UserStats",
]

LEARNING_CREDIT = 0.5


class _EntryLike(Protocol):
    topic_names: list[str]
    key_points: Sequence[object]  # only their number matters here


class KnowledgeLike(Protocol):
    """What stats need from knowledge.loader.KnowledgeBase (tests pass a small fake)."""

    entries: Mapping[str, _EntryLike]


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


# --- storage ----------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(UTC)


async def _insert_missing(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose primary key is absent, race-free (INSERT .. ON CONFLICT DO NOTHING)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise StorageError(f"unsupported database dialect {dialect!r} (use SQLite or PostgreSQL)")
    keys = [c.name for c in table.primary_key.columns]
    await conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=keys), rows)


class ProgressStore:
    """Async progress storage. Open with `await ProgressStore.open(url)`; close with `close()`."""

    def __init__(self, engine: AsyncEngine, label: str):
        self._engine = engine
        self._writer = writer(engine)
        self._label = label
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str | None = None,
        *,
        schema: str | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        **engine_kwargs: Any,
    ) -> ProgressStore:
        """Open (and migrate) the database at `url` (default: the settings' database URL).

        `schema` puts every table in that PostgreSQL schema; `engine_kwargs` go to
        create_async_engine. Raises StorageError, one line naming the database, when it cannot be
        used; it never deletes or resets anything.
        """
        if url is None:
            from bot.app.settings import get_settings

            url = get_settings().resolved_database_url
        parsed = normalize_url(url)
        label = database_label(parsed)
        if parsed.get_backend_name() == "sqlite":
            path = sqlite_path(parsed)
            if path is None:
                raise StorageError(
                    f"{label} is in memory, which is not supported (every connection would see "
                    "its own empty database); use a file"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"{label} cannot be created: no folder {path.parent} ({exc.strerror})"
                ) from exc
        options: dict[str, Any] = {"busy_timeout_ms": busy_timeout_ms, **engine_kwargs}
        if schema is not None:
            options["schema"] = schema
        try:
            await asyncio.to_thread(upgrade_database, parsed, **options)
        except (DBAPIError, OSError, PoolTimeoutError, CommandError) as exc:
            raise storage_error(label, exc) from exc
        return cls(create_engine(parsed, **options), label)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._engine.dispose()

    async def __aenter__(self) -> ProgressStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        if self._closed:
            raise StorageError(f"{self._label} is closed (ProgressStore.close() was called)")
        try:
            yield
        except (DBAPIError, OSError, PoolTimeoutError) as exc:
            raise storage_error(self._label, exc) from exc

    # --- writes -------------------------------------------------------------------------------

    async def record_attempt(
        self,
        user_id: str,
        question_id: str,
        answer: str,
        result: GradeResult,
        seconds: float | None,
        guild_id: str | None = None,
        now: datetime | None = None,
    ) -> RecordedAttempt:
        """Store one graded answer and update the question's and its key points' schedules,
        all in one transaction."""
        if result.question_id != question_id:
            raise ValueError(f"result is for {result.question_id!r}, not {question_id!r}")
        user_id, now = str(user_id), _utc(now)
        quality = quality_from_grade(result.verdict, result.score, result.hints_used)
        covered = [kp.covered for kp in result.key_points]
        with self._guard():
            async with self._writer.begin() as conn:
                inserted = await conn.execute(
                    insert(attempts).values(
                        user_id=user_id,
                        guild_id=None if guild_id is None else str(guild_id),
                        question_id=question_id,
                        answer=answer,
                        verdict=result.verdict,
                        score=float(result.score),
                        hints_used=result.hints_used,
                        seconds=seconds,
                        created_at=now,
                    )
                )
                review = await self._update_review(
                    conn, user_id, question_id, quality, result.score, now
                )
                newly = await self._update_key_points(conn, user_id, question_id, covered, now)
        return RecordedAttempt(inserted.inserted_primary_key[0], quality, review, newly)

    async def _update_review(
        self,
        conn: AsyncConnection,
        user_id: str,
        question_id: str,
        quality: int,
        score: float,
        now: datetime,
    ) -> ReviewState:
        # Make sure the row exists, then lock it: concurrent attempts queue instead of losing
        # an update. A fresh row holds exactly ReviewState.new(now).
        fresh = ReviewState.new(now)
        key = (reviews.c.user_id == user_id) & (reviews.c.question_id == question_id)
        await _insert_missing(
            conn,
            reviews,
            [
                {
                    "user_id": user_id,
                    "question_id": question_id,
                    "ease": fresh.ease,
                    "interval_days": fresh.interval_days,
                    "repetitions": fresh.repetitions,
                    "lapses": fresh.lapses,
                    "due_at": fresh.due_at,
                    "last_score": None,
                    "updated_at": now,
                }
            ],
        )
        row = (await conn.execute(select(reviews).where(key).with_for_update())).one()
        state = ReviewState(row.ease, row.interval_days, row.repetitions, row.due_at, row.lapses)
        new = next_state(state, quality, now)
        await conn.execute(
            update(reviews)
            .where(key)
            .values(
                ease=new.ease,
                interval_days=new.interval_days,
                repetitions=new.repetitions,
                lapses=new.lapses,
                due_at=new.due_at,
                last_score=float(score),
                updated_at=now,
            )
        )
        return new

    async def _update_key_points(
        self,
        conn: AsyncConnection,
        user_id: str,
        question_id: str,
        covered: list[bool],
        now: datetime,
    ) -> tuple[int, ...]:
        if not covered:
            return ()
        kp = key_point_progress
        key = (kp.c.user_id == user_id) & (kp.c.question_id == question_id)
        await _insert_missing(
            conn,
            kp,
            [
                {
                    "user_id": user_id,
                    "question_id": question_id,
                    "key_point_index": i,
                    "times_covered": 0,
                    "streak": 0,
                    "mastered": False,
                    "due_at": None,
                    "updated_at": now,
                }
                for i in range(len(covered))
            ],
        )
        rows = await conn.execute(
            select(kp).where(key, kp.c.key_point_index < len(covered)).with_for_update()
        )
        newly = []
        for row in rows.all():
            old = KeyPointState(row.times_covered, row.streak, row.mastered, row.due_at)
            new = next_key_point_state(old, covered[row.key_point_index], now)
            if new.mastered and not old.mastered:
                newly.append(row.key_point_index)
            await conn.execute(
                update(kp)
                .where(key, kp.c.key_point_index == row.key_point_index)
                .values(
                    times_covered=new.times_covered,
                    streak=new.streak,
                    mastered=new.mastered,
                    due_at=new.due_at,
                    updated_at=now,
                )
            )
        return tuple(sorted(newly))

    async def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete every row of this user in every table, in one transaction; counts per table."""
        user_id = str(user_id)
        counts = {}
        with self._guard():
            async with self._writer.begin() as conn:
                # Children first, so the counts do not depend on ON DELETE CASCADE.
                for table in (key_point_progress, reviews, attempts):
                    result = await conn.execute(delete(table).where(table.c.user_id == user_id))
                    counts[table.name] = result.rowcount
        return counts

    # --- reads --------------------------------------------------------------------------------

    async def _due(
        self, conn: AsyncConnection, user_id: str, now: datetime, limit: int | None
    ) -> list[DueReview]:
        kp = key_point_progress
        review_due = dict(
            (
                await conn.execute(
                    select(reviews.c.question_id, reviews.c.due_at).where(
                        reviews.c.user_id == user_id, reviews.c.due_at <= now
                    )
                )
            ).all()
        )
        missed: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
        rows = await conn.execute(
            select(kp.c.question_id, kp.c.key_point_index, kp.c.due_at).where(
                kp.c.user_id == user_id, kp.c.due_at.is_not(None)
            )
        )
        for question_id, index, when in rows:
            missed[question_id].append((index, when))
        return collect_due(review_due, missed, now, limit)

    async def due_reviews(
        self, user_id: str, now: datetime | None = None, limit: int | None = 10
    ) -> list[DueReview]:
        """Questions due for review (by SM-2 or a missed key point), most overdue first."""
        with self._guard():
            async with self._engine.connect() as conn:
                return await self._due(conn, str(user_id), _utc(now), limit)

    async def seen_question_ids(self, user_id: str) -> set[str]:
        with self._guard():
            async with self._engine.connect() as conn:
                rows = await conn.execute(
                    select(reviews.c.question_id).where(reviews.c.user_id == str(user_id))
                )
                return set(rows.scalars())

    async def recent_attempts(self, user_id: str, limit: int = 10) -> list[AttemptRow]:
        """The user's latest attempts, newest first."""
        a = attempts.c
        stmt = (
            select(
                a.question_id,
                a.answer,
                a.verdict,
                a.score,
                a.hints_used,
                a.seconds,
                a.guild_id,
                a.created_at,
            )
            .where(a.user_id == str(user_id))
            .order_by(a.created_at.desc(), a.id.desc())
            .limit(limit)
        )
        with self._guard():
            async with self._engine.connect() as conn:
                return [AttemptRow(*row) for row in await conn.execute(stmt)]

    async def _topics(self, conn: AsyncConnection, user_id: str, kb: KnowledgeLike):
        kp = key_point_progress
        rows = await conn.execute(
            select(kp.c.question_id, kp.c.key_point_index, kp.c.mastered, kp.c.streak).where(
                kp.c.user_id == user_id
            )
        )
        seen = set(
            (
                await conn.execute(
                    select(reviews.c.question_id).where(reviews.c.user_id == user_id)
                )
            ).scalars()
        )
        return topic_mastery(kb.entries, [tuple(r) for r in rows], seen), seen

    async def stats(
        self, user_id: str, kb: KnowledgeLike, now: datetime | None = None
    ) -> UserStats:
        user_id, now = str(user_id), _utc(now)
        with self._guard():
            async with self._engine.connect() as conn:
                count, correct, average = (
                    await conn.execute(
                        select(
                            func.count(),
                            func.coalesce(
                                func.sum(case((attempts.c.verdict == "correct", 1), else_=0)), 0
                            ),
                            func.coalesce(func.avg(attempts.c.score), 0.0),
                        ).where(attempts.c.user_id == user_id)
                    )
                ).one()
                times = (
                    await conn.execute(
                        select(attempts.c.created_at).where(attempts.c.user_id == user_id)
                    )
                ).scalars()
                current, best = day_streaks((t.date() for t in times), now.date())
                topics, seen = await self._topics(conn, user_id, kb)
                due = await self._due(conn, user_id, now, None)
                mastered = (
                    await conn.execute(
                        select(func.count()).where(
                            key_point_progress.c.user_id == user_id,
                            key_point_progress.c.mastered.is_(True),
                            key_point_progress.c.question_id.in_(list(kb.entries)),
                        )
                    )
                ).scalar_one()
        score, summary = readiness(topics, int(mastered))
        return UserStats(
            user_id=user_id,
            attempts=int(count),
            correct=int(correct),
            average_score=float(average),
            current_streak=current,
            best_streak=best,
            questions_attempted=len(seen & set(kb.entries)),
            questions_total=len(kb.entries),
            due_count=len(due),
            topics=topics,
            readiness=score,
            readiness_summary=summary,
        )

    async def weakest_topics(
        self, user_id: str, kb: KnowledgeLike, n: int = 3
    ) -> list[TopicMastery]:
        """The n weakest topics (ranking in the module docstring)."""
        with self._guard():
            async with self._engine.connect() as conn:
                topics, _ = await self._topics(conn, str(user_id), kb)
        return rank_weakest(topics, n)

    async def leaderboard(
        self, guild_id: str | None, since: datetime | None = None, limit: int = 10
    ) -> list[LeaderboardRow]:
        """Users by points (sum of scores) since `since` (None: all time). guild_id None ranks
        every attempt, any guild or none."""
        points = func.sum(attempts.c.score).label("points")
        count = func.count().label("attempts")
        stmt = (
            select(attempts.c.user_id, points, count)
            .group_by(attempts.c.user_id)
            .order_by(points.desc(), count.asc(), attempts.c.user_id)
            .limit(limit)
        )
        if guild_id is not None:
            stmt = stmt.where(attempts.c.guild_id == str(guild_id))
        if since is not None:
            stmt = stmt.where(attempts.c.created_at >= _utc(since))
        with self._guard():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [LeaderboardRow(u, float(p), int(n)) for u, p, n in rows]
