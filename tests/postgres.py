"""The test PostgreSQL server (127.0.0.1:5432, database `test`, trust auth): which URL answers.

Shared by every test that needs a real PostgreSQL; each skips with NO_PG when none answers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

PG_URLS = (
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://root@127.0.0.1:5432/test",
)
NO_PG = "no PostgreSQL answered at 127.0.0.1:5432/test (tried users postgres and root)"
_probe: dict[str, str | None] = {}


async def pg_connect(url: str, database: str | None = None) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(user=u.username, host=u.host, port=u.port,
                                 database=database or u.database, timeout=5)


async def postgres_url() -> str | None:
    """The first URL that accepts a connection, probed once per test session."""
    if "url" not in _probe:
        _probe["url"] = None
        for url in PG_URLS:
            try:
                conn = await pg_connect(url)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                continue
            await conn.close()
            _probe["url"] = url
            break
    return _probe["url"]


@contextlib.asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """(server URL, schema name) of a new empty schema, dropped afterwards; skips without a server."""
    url = await postgres_url()
    if url is None:
        pytest.skip(NO_PG)
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = await pg_connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url, schema
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
