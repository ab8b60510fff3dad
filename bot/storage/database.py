"""Storage schema and engine: SQLAlchemy 2 (async); SQLite by default, PostgreSQL at scale.

The tables are declared here; the schema itself is created and evolved only by the Alembic
migrations in bot/migrations (hand-written, applied on open by `upgrade_database`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    event,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_BUSY_TIMEOUT_MS = 5000

# Execution option asking for a write transaction; on SQLite it becomes BEGIN IMMEDIATE.
WRITE_OPTION = "gradcheck_write"


class StorageError(RuntimeError):
    """The database cannot be used (corrupt, locked, unreachable, too new). One line, names it."""


# --- schema -----------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type, so values are stored as naive UTC text (which also sorts
    correctly) and come back with tzinfo=UTC; PostgreSQL uses timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# INTEGER PRIMARY KEY is SQLite's auto-increment rowid; elsewhere use 64 bits.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Attempt(Base):
    """One graded answer (kept in full: history, stats and leaderboards are computed from it)."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint("verdict IN ('correct', 'partial', 'incorrect')", name="verdict"),
        Index(None, "user_id", "created_at"),
        Index(None, "guild_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    guild_id: Mapped[str | None] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """SM-2 state per (user, question): see bot.tutor.scheduling."""

    __tablename__ = "reviews"
    __table_args__ = (Index(None, "user_id", "due_at"),)

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ease: Mapped[float] = mapped_column(Float)
    interval_days: Mapped[float] = mapped_column(Float)
    repetitions: Mapped[int] = mapped_column(Integer)
    lapses: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeyPointProgress(Base):
    """Per key point of a question (index into the entry's key_points): streak and mastery."""

    __tablename__ = "key_point_progress"
    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "question_id"],
            ["reviews.user_id", "reviews.question_id"],
            ondelete="CASCADE",
        ),
        Index(None, "user_id", "due_at"),
    )

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_point_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    times_covered: Mapped[int] = mapped_column(Integer)
    streak: Mapped[int] = mapped_column(Integer)
    mastered: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QotdSchedule(Base):
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


attempts = Attempt.__table__
reviews = Review.__table__
key_point_progress = KeyPointProgress.__table__
qotd_schedules = QotdSchedule.__table__
mock_nights = MockNight.__table__
mock_participants = MockParticipant.__table__
mock_rounds = MockRound.__table__
mock_answers = MockAnswer.__table__
mock_settings = MockSettings.__table__


# --- engine -----------------------------------------------------------------------------------

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalize_url(url: str | URL) -> URL:
    """Accept plain `sqlite:///` / `postgresql://` URLs too, and pick the async driver for them."""
    parsed = make_url(url)
    if parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    return parsed


def sqlite_path(url: str | URL) -> Path | None:
    """The file behind a SQLite URL; None for in-memory SQLite and other databases."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser()


def database_label(url: str | URL) -> str:
    """How messages name the database: the SQLite file, or the URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return f"SQLite database {path}"
    return f"database {normalize_url(url).render_as_string(hide_password=True)}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_engine(
    url: str | URL,
    *,
    schema: str | None = None,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

    SQLite connections get WAL (readers never block the writer), foreign keys and a busy timeout
    (wait for a lock instead of failing at once); write transactions start with BEGIN IMMEDIATE
    so two writers queue up instead of failing mid-transaction. `schema` (PostgreSQL only) sets
    the search_path, so everything, the Alembic version table included, lives in that schema.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if schema is not None:
        if backend != "postgresql":
            raise ValueError("schema= is only supported for PostgreSQL")
        connect_args = dict(kwargs.pop("connect_args", {}))
        server_settings = dict(connect_args.get("server_settings", {}))
        server_settings["search_path"] = _quote_ident(schema)
        connect_args["server_settings"] = server_settings
        kwargs["connect_args"] = connect_args
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(parsed, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN skips SELECTs and cannot do IMMEDIATE: we emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")  # first statement that reads the file
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool), but its transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})


# --- migrations -------------------------------------------------------------------------------


def alembic_config(url: str | URL, **engine_kwargs: Any):
    """An Alembic Config built in code (no alembic.ini): env.py reads the URL and engine options
    from `config.attributes`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = normalize_url(url)
    config.attributes["engine_kwargs"] = engine_kwargs
    return config


def upgrade_database(url: str | URL, revision: str = "head", **engine_kwargs: Any) -> None:
    """Bring the database schema up to `revision` (idempotent; safe with several processes).

    Creates the folder of a SQLite file if needed; never deletes or rewrites existing data.

    `engine_kwargs` go to `create_engine` (e.g. schema=..., busy_timeout_ms=...). env.py drives
    its own event loop, which cannot nest inside a running one, so from async code this runs in a
    worker thread (async callers should rather `await asyncio.to_thread(upgrade_database, url)`).
    """
    from alembic import command

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url, **engine_kwargs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, revision)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradcheck-migrate") as pool:
        pool.submit(command.upgrade, config, revision).result()


# --- errors -----------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip() or type(orig).__name__
    line = text.splitlines()[0]
    # asyncpg errors come wrapped as "<class 'asyncpg.exceptions.X'>: message".
    if line.startswith("<class ") and ">: " in line:
        line = line.split(">: ", 1)[1]
    return line


def storage_error(label: str, exc: BaseException) -> StorageError:
    """A one-line StorageError naming the database, with the likely cause spelled out."""
    detail = _first_line(exc)
    lowered = detail.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        reason = f"is not a readable SQLite database ({detail}); it was left untouched"
    elif "database is locked" in lowered or "database is busy" in lowered:
        reason = "is locked by another process or connection; try again once it is released"
    elif "can't locate revision" in lowered:
        reason = f"has a schema newer than this gradcheck ({detail}); upgrade gradcheck"
    elif isinstance(exc, OSError):
        reason = f"cannot be reached ({detail})"
    else:
        reason = f"failed: {detail}"
    return StorageError(f"{label} {reason}")


class SqlStore:
    """What every store over this database shares: the engine, a writer for serialised writes,
    a label for messages, and one place that turns driver errors into a clear StorageError."""

    def __init__(self, engine: AsyncEngine, label: str):
        self._engine = engine
        self._writer = writer(engine)
        self._label = label

    @classmethod
    def open(cls, url: str):
        parsed = normalize_url(url)
        return cls(create_engine(parsed), database_label(parsed))

    async def close(self) -> None:
        await self._engine.dispose()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, OSError, PoolTimeoutError) as exc:
            raise storage_error(self._label, exc) from exc
