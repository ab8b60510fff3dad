"""Per-user progress in the database: attempts, spaced-repetition reviews, key point mastery.

`ProgressStore` is the only I/O for progress (SQLAlchemy Core over the Database's engine; the same
statements run on SQLite and PostgreSQL). The figures it reports are computed by the pure
functions of bot.tutor.progress, whose docstring states the rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.errors import StorageError
from bot.domain.results import GradeResult
from bot.storage.database import SqlStore
from bot.storage.progress_tables import attempts, key_point_progress, reviews
from bot.tutor.progress import (
    AttemptRow,
    DueReview,
    KnowledgeLike,
    LeaderboardRow,
    RecordedAttempt,
    TopicMastery,
    UserStats,
    collect_due,
    day_streaks,
    rank_weakest,
    readiness,
    topic_mastery,
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


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(UTC)


async def _insert_missing(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose primary key is absent, race-free (INSERT .. ON CONFLICT DO NOTHING)."""
    dialect = conn.dialect.name
    dialect_insert: Callable[[Table], Any]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise StorageError(f"unsupported database dialect {dialect!r} (use SQLite or PostgreSQL)")
    keys = [c.name for c in table.primary_key.columns]
    await conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=keys), rows)


class ProgressStore(SqlStore):
    """Async progress storage over a Database: `ProgressStore(database)`, or
    `await ProgressStore.open(url)` for one with a database of its own (closed by `close()`)."""

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
        key = inserted.inserted_primary_key
        assert key is not None  # an INSERT of one row
        return RecordedAttempt(key[0], quality, review, newly)

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
