"""Alembic environment for gradcheck: async engine from bot.storage.database, SQLite (aiosqlite)
or PostgreSQL (asyncpg).

Normally run by `bot.storage.database.upgrade_database`, which builds the Config in code and
passes the URL and engine options in `config.attributes`; without them (a hand-made alembic.ini) it falls back to
`sqlalchemy.url` and then to the gradcheck settings.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from bot.storage.database import create_engine, normalize_url, writer
from bot.storage.schema import Base

config = context.config
target_metadata = Base.metadata

# Any constant works: it only has to be the same for every gradcheck process.
_PG_MIGRATION_LOCK = 0x6772_6164  # "grad"


def _url():
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from bot.app.settings import get_settings

        url = get_settings().resolved_database_url
    return normalize_url(url)


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: print the SQL instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # SQLite cannot ALTER most things: batch mode lets later migrations rebuild tables.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # One transaction around all revisions, on SQLite too: processes starting at once then
        # cannot both apply the same revision ("table already exists").
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several bot processes may start at once: one migrates, the others wait and then
            # find nothing to do. (SQLite gets the same from BEGIN IMMEDIATE, see bot.storage.database.)
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        context.run_migrations()


async def _run_async() -> None:
    options = dict(config.attributes.get("engine_kwargs") or {})
    engine = create_engine(_url(), poolclass=NullPool, **options)
    try:
        async with writer(engine).connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_async())
