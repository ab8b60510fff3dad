"""Question-of-the-day settings per server: the qotd_schedules table (migration 0002) and its store.

SQLAlchemy Core, so SQLite and PostgreSQL run the same statements; errors become one-line
StorageErrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import CheckConstraint, Index, Integer, String, Table, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.base import Base, UTCDateTime
from bot.storage.database import SqlStore


class QotdScheduleRow(Base):
    """Question of the day, per Discord server: where and when (UTC), and today's post."""

    __tablename__ = "qotd_schedules"
    __table_args__ = (
        CheckConstraint("post_hour BETWEEN 0 AND 23 AND post_minute BETWEEN 0 AND 59", name="time"),
        Index(None, "thread_id"),
    )

    guild_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    post_hour: Mapped[int] = mapped_column(Integer)
    post_minute: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str | None] = mapped_column(String(64))  # the latest post's question
    thread_id: Mapped[str | None] = mapped_column(String(64))  # its thread of answers
    last_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)



qotd_schedules = cast(Table, QotdScheduleRow.__table__)

T = qotd_schedules.c


@dataclass(frozen=True)
class QotdSchedule:
    guild_id: int
    channel_id: int
    hour: int  # UTC
    minute: int
    question_id: str | None = None
    thread_id: int | None = None
    last_posted_at: datetime | None = None

    @property
    def time_text(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d} UTC"


def _row(row) -> QotdSchedule:
    return QotdSchedule(
        int(row.guild_id),
        int(row.channel_id),
        row.post_hour,
        row.post_minute,
        row.question_id,
        None if row.thread_id is None else int(row.thread_id),
        row.last_posted_at,
    )


class QotdStore(SqlStore):

    async def set(self, guild_id: int, channel_id: int, hour: int, minute: int) -> QotdSchedule:
        """Create or change a server's schedule; today's post (if any) is kept."""
        now = datetime.now(UTC)
        values = {"channel_id": str(channel_id), "post_hour": hour, "post_minute": minute,
                  "updated_at": now}
        with self._guard():
            async with self._writer.begin() as conn:
                changed = await conn.execute(
                    update(qotd_schedules).where(T.guild_id == str(guild_id)).values(**values)
                )
                if changed.rowcount == 0:
                    await conn.execute(
                        qotd_schedules.insert().values(guild_id=str(guild_id), **values)
                    )
        found = await self.get(guild_id)
        assert found is not None
        return found

    async def disable(self, guild_id: int) -> bool:
        with self._guard():
            async with self._writer.begin() as conn:
                gone = await conn.execute(delete(qotd_schedules).where(T.guild_id == str(guild_id)))
        return gone.rowcount > 0

    async def get(self, guild_id: int) -> QotdSchedule | None:
        with self._guard():
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(select(qotd_schedules).where(T.guild_id == str(guild_id)))
                ).first()
        return None if row is None else _row(row)

    async def all(self) -> list[QotdSchedule]:
        with self._guard():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(select(qotd_schedules))).all()
        return [_row(r) for r in rows]

    async def mark_posted(
        self, guild_id: int, question_id: str, thread_id: int | None, when: datetime
    ) -> None:
        with self._guard():
            async with self._writer.begin() as conn:
                await conn.execute(
                    update(qotd_schedules)
                    .where(T.guild_id == str(guild_id))
                    .values(
                        question_id=question_id,
                        thread_id=None if thread_id is None else str(thread_id),
                        last_posted_at=when,
                        updated_at=when,
                    )
                )
