"""Question-of-the-day settings per server, in the qotd_schedules table (migration 0002).

Opened after ProgressStore.open has migrated the database, on the same URL; SQLAlchemy Core,
so SQLite and PostgreSQL run the same statements. Errors become one-line StorageErrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from bot.storage.database import (
    SqlStore,
    qotd_schedules,
)

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
