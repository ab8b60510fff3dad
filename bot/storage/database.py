"""The database: one `Database` owns the engine, opens it (migrating first) and closes it.

SQLAlchemy 2 (async); SQLite by default, PostgreSQL at scale. Start-up opens one Database and
passes it to every store (bot.storage.progress, .qotd, .mock), so there is one engine per process
and the migrations have always run before any store is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.errors import StorageError

__all__ = ["Database", "SqlStore", "StorageError"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_BUSY_TIMEOUT_MS = 5000

# Execution option asking for a write transaction; on SQLite it becomes BEGIN IMMEDIATE.
WRITE_OPTION = "gradcheck_write"


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



class Database:
    """The engine of one database, migrated when opened. Open with `await Database.open(url)`."""

    def __init__(self, engine: AsyncEngine, label: str):
        self.engine = engine
        self.writer = writer(engine)  # same pool; its transactions are write transactions
        self.label = label
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        **engine_kwargs: Any,
    ) -> Database:
        """Open (and migrate) the database at `url`.

        `schema` puts every table in that PostgreSQL schema; `engine_kwargs` go to
        create_async_engine. Raises StorageError, one line naming the database, when it cannot be
        used; it never deletes or resets anything.
        """
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
            await self.engine.dispose()

    @contextmanager
    def guard(self, owner: str = "Database") -> Iterator[None]:
        """Turn driver errors into one-line StorageErrors naming the database."""
        if self._closed:
            raise StorageError(f"{self.label} is closed ({owner}.close() was called)")
        try:
            yield
        except (DBAPIError, OSError, PoolTimeoutError) as exc:
            raise storage_error(self.label, exc) from exc


class SqlStore:
    """What every store shares: the Database it reads and writes through.

    Built on the process's Database by start-up (`Store(database)`); `await Store.open(url)`
    opens a Database of its own (tools and tests), which `close()` then closes.
    """

    def __init__(self, database: Database, *, owns_database: bool = False):
        self.database = database
        self._owns = owns_database

    @classmethod
    async def open(cls, url: str, **options: Any):
        return cls(await Database.open(url, **options), owns_database=True)

    async def close(self) -> None:
        if self._owns:
            await self.database.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def _engine(self) -> AsyncEngine:
        return self.database.engine

    @property
    def _writer(self) -> AsyncEngine:
        return self.database.writer

    def _guard(self):
        return self.database.guard(type(self).__name__)
