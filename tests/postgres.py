"""The test PostgreSQL server: which URL answers.

Shared by every test that needs a real PostgreSQL. The server is the one GRADCHECK_TEST_PG_URL
names (any `postgresql://user@host:port/database` with trust auth), else 127.0.0.1:5432/test with
user postgres, else root. `make test` runs pytest through tests/with_postgres.py, which starts a
throwaway server when none answers and then sets both GRADCHECK_TEST_PG_URL and
GRADCHECK_TEST_PG_REQUIRED=1: with the latter, a test that finds no server fails instead of
skipping.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

URL_ENV = "GRADCHECK_TEST_PG_URL"
REQUIRED_ENV = "GRADCHECK_TEST_PG_REQUIRED"
DEFAULT_URLS = (
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://root@127.0.0.1:5432/test",
)
_probe: dict[str, str | None] = {}


def candidate_urls() -> tuple[str, ...]:
    """The URLs to try, first match wins: GRADCHECK_TEST_PG_URL alone when it is set."""
    configured = os.environ.get(URL_ENV, "").strip()
    if not configured:
        return DEFAULT_URLS
    url = make_url(configured)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    return (url.render_as_string(hide_password=False),)


def describe(urls: tuple[str, ...] | None = None) -> str:
    """'127.0.0.1:5432/test (users postgres, root)': where the probe looked, no passwords."""
    urls = urls or candidate_urls()
    parsed = [make_url(u) for u in urls]
    users = ", ".join(dict.fromkeys(str(u.username) for u in parsed))
    first = parsed[0]
    plural = "s" if len(parsed) > 1 else ""
    return f"{first.host}:{first.port or 5432}/{first.database} (user{plural} {users})"


def no_pg_reason() -> str:
    return (f"no PostgreSQL answered at {describe()}; set {URL_ENV} or run `make test`, "
            "which starts a throwaway server")


def required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").strip().lower() in ("1", "true", "yes")


async def pg_connect(url: str, database: str | None = None) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(user=u.username, password=u.password, host=u.host,
                                 port=u.port or 5432, database=database or u.database, timeout=5)


async def postgres_url() -> str | None:
    """The first URL that accepts a connection, probed once per test session."""
    if "url" not in _probe:
        _probe["url"] = None
        for url in candidate_urls():
            try:
                conn = await pg_connect(url)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                continue
            await conn.close()
            _probe["url"] = url
            break
    return _probe["url"]


async def require_postgres() -> str:
    """The server's URL; without one the test skips, or fails under GRADCHECK_TEST_PG_REQUIRED."""
    url = await postgres_url()
    if url is None:
        if required():
            pytest.fail(f"{no_pg_reason()} ({REQUIRED_ENV} is set: a server is required)",
                        pytrace=False)
        pytest.skip(no_pg_reason())
    return url


@contextlib.asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """(server URL, schema name) of a new empty schema, dropped afterwards; skips without a server."""
    url = await require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = await pg_connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url, schema
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
