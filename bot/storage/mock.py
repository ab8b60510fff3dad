"""Mock nights in the database (tables from migration 0003), so a restart can pick a night up.

`save(night)` writes the night, its participants and rounds after every event; answers are
written on their own, the moment they are submitted (`add_answer`) and again when graded
(`set_grade`), so a crash between the two loses no answer (it is graded at the reveal).
The tables (migration 0003) are declared here, beside the store; SQLAlchemy Core, so SQLite and
PostgreSQL run the same statements. Errors become one-line StorageErrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import Difficulty, NightMode, NightState, Role
from bot.storage.base import Base, BigIntId, UTCDateTime
from bot.storage.database import SqlStore
from bot.tutor.night import FINISHED, Answer, Night, Participant, Round


class MockNight(Base):
    """A group mock-interview night (bot.mock): its settings and where its state machine is."""

    __tablename__ = "mock_nights"
    __table_args__ = (Index(None, "guild_id", "created_at"), Index(None, "state"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    lobby_message_id: Mapped[str | None] = mapped_column(String(64))
    host_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    rounds_total: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(Integer)
    difficulty: Mapped[str | None] = mapped_column(String(8))
    topics: Mapped[str] = mapped_column(Text)  # comma-separated
    state: Mapped[str] = mapped_column(String(16))
    paused_from: Mapped[str | None] = mapped_column(String(16))
    remaining: Mapped[float | None] = mapped_column(Float)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_note: Mapped[str | None] = mapped_column(Text)


class MockParticipant(Base):
    __tablename__ = "mock_participants"
    __table_args__ = (
        ForeignKeyConstraint(["night_id"], ["mock_nights.id"], ondelete="CASCADE"),
    )

    night_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[str | None] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(String(64))


class MockRound(Base):
    __tablename__ = "mock_rounds"
    __table_args__ = (
        ForeignKeyConstraint(["night_id"], ["mock_nights.id"], ondelete="CASCADE"),
    )

    night_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    question_id: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skipped: Mapped[bool] = mapped_column(Boolean)
    paused_seconds: Mapped[float] = mapped_column(Float)
    message_id: Mapped[str | None] = mapped_column(String(64))


class MockAnswer(Base):
    """Stored the moment it is submitted; the grade (and an interviewer's marks) when known."""

    __tablename__ = "mock_answers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["night_id", "round_number"], ["mock_rounds.night_id", "mock_rounds.number"],
            ondelete="CASCADE",
        ),
    )

    night_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    round_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    covered: Mapped[str | None] = mapped_column(String(64))  # "1,0,1": per key point
    marks: Mapped[str | None] = mapped_column(String(64))  # interviewer's, "1,0,-" ("-": unmarked)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MockSettings(Base):
    """Per server: the role (besides Manage Events / Manage Server) that may host nights."""

    __tablename__ = "mock_settings"

    guild_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host_role_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)



mock_nights = cast(Table, MockNight.__table__)
mock_participants = cast(Table, MockParticipant.__table__)
mock_rounds = cast(Table, MockRound.__table__)
mock_answers = cast(Table, MockAnswer.__table__)
mock_settings = cast(Table, MockSettings.__table__)


N, P, R, A = mock_nights.c, mock_participants.c, mock_rounds.c, mock_answers.c


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _ts(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _bits(values: tuple[bool | None, ...]) -> str | None:
    if not values:
        return None
    return ",".join("-" if v is None else str(int(v)) for v in values)


def _unbits(text: str | None) -> tuple[bool | None, ...]:
    if not text:
        return ()
    return tuple(None if v == "-" else v == "1" for v in text.split(","))


@dataclass(frozen=True)
class PastNight:
    id: int
    host_id: int
    created_at: datetime
    ended_at: datetime | None
    rounds: int
    players: int
    winner_id: int | None
    end_note: str | None


class MockStore(SqlStore):

    # --- writes -------------------------------------------------------------------------------

    def _night_values(self, night: Night) -> dict:
        return {
            "guild_id": str(night.guild_id), "channel_id": str(night.channel_id),
            "thread_id": _id(night.thread_id), "lobby_message_id": _id(night.lobby_message_id),
            "host_id": str(night.host_id), "mode": night.mode, "rounds_total": night.rounds_total,
            "seconds": night.seconds, "difficulty": night.difficulty,
            "topics": ",".join(night.topics), "state": night.state,
            "paused_from": night.paused_from, "remaining": night.remaining,
            "deadline": _dt(night.deadline), "created_at": _dt(night.created_at),
            "updated_at": datetime.now(UTC), "ended_at": _dt(night.ended_at),
            "end_note": night.end_note,
        }

    async def save(self, night: Night) -> Night:
        """Insert (setting night.id) or update the night with its participants and rounds."""
        with self._guard():
            async with self._writer.begin() as conn:
                values = self._night_values(night)
                if night.id is None:
                    done = await conn.execute(insert(mock_nights).values(**values))
                    key = done.inserted_primary_key
                    assert key is not None  # an INSERT of one row
                    night.id = int(key[0])
                else:
                    await conn.execute(update(mock_nights).where(N.id == night.id).values(**values))
                for p in night.participants.values():
                    await _save_participant(conn, night.id, p)
                for r in night.rounds:
                    await _upsert(conn, mock_rounds, {"night_id": night.id, "number": r.number}, {
                        "question_id": r.question_id, "opened_at": _dt(r.opened_at),
                        "deadline": _dt(r.deadline), "closed_at": _dt(r.closed_at),
                        "skipped": r.skipped, "paused_seconds": r.paused_seconds,
                        "message_id": _id(r.message_id)})
        return night

    async def save_participant(self, night_id: int, p: Participant) -> None:
        """Join / leave: one row, not the whole night (fifty people may join at once)."""
        with self._guard():
            async with self._writer.begin() as conn:
                await _save_participant(conn, night_id, p)

    async def add_answer(self, night_id: int, round_number: int, answer: Answer) -> None:
        with self._guard():
            async with self._writer.begin() as conn:
                await conn.execute(insert(mock_answers).values(
                    night_id=night_id, round_number=round_number, user_id=str(answer.user_id),
                    answer=answer.text, submitted_at=_dt(answer.submitted_at),
                    seconds=answer.seconds))

    async def set_grade(self, night_id: int, round_number: int, answer: Answer) -> None:
        """Store the grade and the interviewer's marks of an answer already stored."""
        with self._guard():
            async with self._writer.begin() as conn:
                await conn.execute(
                    update(mock_answers)
                    .where(A.night_id == night_id, A.round_number == round_number,
                           A.user_id == str(answer.user_id))
                    .values(verdict=answer.verdict, score=answer.score,
                            covered=_bits(tuple(answer.covered)), marks=_bits(answer.marks),
                            graded_at=datetime.now(UTC) if answer.graded else None))

    async def set_host_role(self, guild_id: int, role_id: int | None) -> None:
        with self._guard():
            async with self._writer.begin() as conn:
                await _upsert(conn, mock_settings, {"guild_id": str(guild_id)},
                              {"host_role_id": _id(role_id), "updated_at": datetime.now(UTC)})

    # --- reads --------------------------------------------------------------------------------

    async def host_role(self, guild_id: int) -> int | None:
        with self._guard():
            async with self._engine.connect() as conn:
                value = (await conn.execute(select(mock_settings.c.host_role_id).where(
                    mock_settings.c.guild_id == str(guild_id)))).scalar()
        return None if value is None else int(value)

    async def load(self, night_id: int) -> Night | None:
        with self._guard():
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(mock_nights).where(N.id == night_id))).first()
                if row is None:
                    return None
                people = (await conn.execute(
                    select(mock_participants).where(P.night_id == night_id)
                    .order_by(P.joined_at))).all()
                rounds = (await conn.execute(
                    select(mock_rounds).where(R.night_id == night_id).order_by(R.number))).all()
                answers = (await conn.execute(
                    select(mock_answers).where(A.night_id == night_id))).all()
        night = Night(
            int(row.guild_id), int(row.channel_id), int(row.host_id), row.rounds_total,
            row.seconds, _enum(Difficulty, row.difficulty), tuple(t for t in row.topics.split(",") if t),
            NightMode(row.mode),
            id=int(row.id), thread_id=_int(row.thread_id),
            lobby_message_id=_int(row.lobby_message_id), state=NightState(row.state),
            paused_from=_enum(NightState, row.paused_from), remaining=row.remaining, deadline=_ts(row.deadline),
            created_at=_ts(row.created_at) or 0.0, ended_at=_ts(row.ended_at),
            end_note=row.end_note,
        )
        for p in people:
            night.participants[int(p.user_id)] = Participant(
                int(p.user_id), p.name, _ts(p.joined_at) or 0.0, _ts(p.left_at), _enum(Role, p.role),
                _int(p.partner_id))
        for r in rounds:
            night.rounds.append(Round(
                r.number, r.question_id, _ts(r.opened_at) or 0.0, _ts(r.deadline) or 0.0,
                _ts(r.closed_at), bool(r.skipped), r.paused_seconds, _int(r.message_id)))
        for a in answers:
            night.rounds[a.round_number - 1].answers[int(a.user_id)] = Answer(
                int(a.user_id), _ts(a.submitted_at) or 0.0, a.seconds, a.answer, a.verdict,
                a.score, tuple(bool(v) for v in _unbits(a.covered)), _unbits(a.marks))
        return night

    async def unfinished(self) -> list[int]:
        with self._guard():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(
                    select(N.id).where(N.state != FINISHED).order_by(N.id))).all()
        return [int(r.id) for r in rows]

    async def history(self, guild_id: int, limit: int = 10) -> list[PastNight]:
        """The server's latest nights, newest first, with their winner (most points)."""
        points = (
            select(A.night_id, A.user_id, func.sum(func.coalesce(A.score, 0.0)).label("points"))
            .join(mock_rounds, and_(R.night_id == A.night_id, R.number == A.round_number))
            .where(R.skipped.is_(False))
            .group_by(A.night_id, A.user_id)
        ).subquery()
        with self._guard():
            async with self._engine.connect() as conn:
                nights = (await conn.execute(
                    select(mock_nights).where(N.guild_id == str(guild_id))
                    .order_by(N.created_at.desc(), N.id.desc()).limit(limit))).all()
                ids = [n.id for n in nights]
                rounds: dict[int, int] = dict((await conn.execute(
                    select(R.night_id, func.count()).where(R.night_id.in_(ids))
                    .group_by(R.night_id))).all())
                players: dict[int, int] = dict((await conn.execute(
                    select(P.night_id, func.count()).where(P.night_id.in_(ids))
                    .group_by(P.night_id))).all())
                scores = (await conn.execute(
                    select(points).where(points.c.night_id.in_(ids)))).all()
        best: dict[int, tuple[float, str]] = {}
        for s in scores:
            if s.night_id not in best or s.points > best[s.night_id][0]:
                best[s.night_id] = (s.points, s.user_id)
        return [
            PastNight(int(n.id), int(n.host_id), n.created_at, n.ended_at, rounds.get(n.id, 0),
                      players.get(n.id, 0),
                      int(best[n.id][1]) if n.id in best else None, n.end_note)
            for n in nights
        ]


async def _save_participant(conn: AsyncConnection, night_id: int, p: Participant) -> None:
    await _upsert(conn, mock_participants, {"night_id": night_id, "user_id": str(p.user_id)}, {
        "name": p.name[:100], "joined_at": _dt(p.joined_at), "left_at": _dt(p.left_at),
        "role": p.role, "partner_id": _id(p.partner_id)})


def _enum(kind, value: str | None):
    return None if value is None else kind(value)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


async def _upsert(conn: AsyncConnection, table, keys: dict, values: dict) -> None:
    """Update the row with these keys, or insert it: the same statements on every backend."""
    where = [table.c[k] == v for k, v in keys.items()]
    done = await conn.execute(update(table).where(*where).values(**values))
    if done.rowcount == 0:
        await conn.execute(insert(table).values(**keys, **values))
