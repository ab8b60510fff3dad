"""Alembic migrations on a real SQLite file and a real PostgreSQL (a fresh schema per test), and
the operations commands built on them: `gradcheck db upgrade` and `gradcheck health`.

tests/test_progress.py checks that the schema reached from empty matches bot.storage.database's models; here:
every revision one at a time, from the previous revision with data in it, down to empty and
back, several processes at once, and the commands. PostgreSQL: the server tests/postgres.py
finds (GRADCHECK_TEST_PG_URL, else 127.0.0.1:5432/test; `make test` starts one when none
answers); without one the PostgreSQL half of each test skips and says so, or fails under
GRADCHECK_TEST_PG_REQUIRED.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sqlite3
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.app import health
from bot.app.settings import Settings, get_settings
from bot.frontends.cli import main
from bot.storage.database import alembic_config, create_engine, sqlite_path, upgrade_database
from bot.storage.progress import ProgressStore
from bot.storage.schema import Base
from tests.postgres import fresh_schema, pg_connect, require_postgres

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------


def revisions() -> list[str]:
    """Every revision, oldest first (one linear history)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "migration history has branched"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@dataclass
class Database:
    kind: str
    url: str
    options: dict

    def engine(self):
        return create_engine(self.url, poolclass=NullPool, **self.options)

    def upgrade(self, revision: str = "head") -> None:
        upgrade_database(self.url, revision, **self.options)

    def downgrade(self, revision: str) -> None:
        command.downgrade(alembic_config(self.url, **self.options), revision)

    async def state(self) -> tuple[str | None, set[str], list]:
        """(revision, tables, differences from bot.storage.database's models)."""
        engine = self.engine()
        try:
            async with engine.connect() as conn:
                def read(sync):
                    context = MigrationContext.configure(sync)
                    return (context.get_current_revision(),
                            set(inspect(sync).get_table_names()) - {"alembic_version"},
                            compare_metadata(context, Base.metadata))
                return await conn.run_sync(read)
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def open_database(kind: str, tmp_path):
    if kind == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db' / 'gc.sqlite3'}", {})
        return
    async with fresh_schema("gc_mig") as (url, schema):
        yield Database("postgresql", url, {"schema": schema})


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, tmp_path):
    async with open_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
async def postgresql(tmp_path):
    async with open_database("postgresql", tmp_path) as db:
        yield db


# Runs alembic (which drives its own event loop) off the test's loop.
def run(fn, *args):
    return asyncio.to_thread(fn, *args)


# --- migrations -------------------------------------------------------------------------------


async def test_every_revision_in_turn_then_down_to_empty_and_back(database):
    history = revisions()
    assert history[0] == "0001"
    for revision in history:
        await run(database.upgrade, revision)
        assert (await database.state())[0] == revision
    current, tables, diff = await database.state()
    assert diff == [] and tables == set(Base.metadata.tables)

    for previous, revision in zip(reversed(history[:-1]), reversed(history[1:]), strict=True):
        await run(database.downgrade, previous)
        assert (await database.state())[0] == previous, f"downgrade of {revision}"
    await run(database.downgrade, "base")
    current, tables, _ = await database.state()
    assert current is None and tables == set()

    await run(database.upgrade)
    current, tables, diff = await database.state()
    assert current == history[-1] and diff == []


async def test_upgrade_from_the_previous_revision_keeps_data(database):
    history = revisions()
    if len(history) < 2:
        pytest.skip("only one revision: there is no previous one")
    previous = history[-2]
    await run(database.upgrade, previous)
    engine = database.engine()
    try:
        async with engine.begin() as conn:  # data as the previous release wrote it
            await conn.execute(text(
                "INSERT INTO attempts (user_id, guild_id, question_id, answer, verdict, score, "
                "hints_used, seconds, created_at) VALUES ('u1', 'g1', '8.3.41', 'old answer', "
                "'correct', 0.8, 0, 12.5, :at)"), {"at": T0.replace(tzinfo=None)})
            await conn.execute(text(
                "INSERT INTO reviews (user_id, question_id, ease, interval_days, repetitions, "
                "lapses, due_at, last_score, updated_at) VALUES ('u1', '8.3.41', 2.5, 1, 1, 0, "
                ":due, 0.8, :at)"), {"due": T0.replace(tzinfo=None), "at": T0.replace(tzinfo=None)})
    finally:
        await engine.dispose()

    await run(database.upgrade)
    current, _, diff = await database.state()
    assert current == history[-1] and diff == []
    store = await ProgressStore.open(database.url, **database.options)  # the app's own path
    try:
        [row] = await store.recent_attempts("u1")
        assert (row.answer, row.verdict, row.score, row.seconds, row.guild_id) == (
            "old answer", "correct", 0.8, 12.5, "g1")
        assert row.created_at == T0
        assert [d.question_id for d in await store.due_reviews("u1", T0)] == ["8.3.41"]
    finally:
        await store.close()


async def test_several_processes_migrating_at_once(database, request):
    """Shards start together: one migrates, the others wait (advisory lock / BEGIN IMMEDIATE).
    Real processes: Alembic's context is process-global, so threads would not be the real thing.
    On SQLite this needs transactional_ddl=True in bot/migrations/env.py (one transaction for all
    revisions); without it a process could re-run a revision another had just applied."""
    code = "import sys, json; from bot.storage.database import upgrade_database; " \
           "upgrade_database(sys.argv[1], **json.loads(sys.argv[2]))"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, database.url, json.dumps(database.options),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for _ in range(4)
    ]
    results = [await p.communicate() for p in procs]
    failures = [err.decode()[-500:] for p, (_, err) in zip(procs, results, strict=True)
                if p.returncode != 0]
    assert failures == []
    current, _, diff = await database.state()
    assert current == revisions()[-1] and diff == []


# --- gradcheck db upgrade ---------------------------------------------------------------------


@pytest.fixture
def use_env(monkeypatch):
    def use(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade_on_sqlite(capsys, tmp_path, use_env):
    path = tmp_path / "new" / "gc.sqlite3"
    use_env(GRADCHECK_DATABASE_URL=f"sqlite:///{path}")
    code, out, err = cli(capsys, "db", "upgrade")
    head = revisions()[-1]
    assert code == 0, err
    assert out.strip() == f"SQLite database {path} is at revision {head} (head)"
    code, out, _ = cli(capsys, "db", "upgrade", "--json")  # again: nothing to do
    assert code == 0
    assert json.loads(out) == {"database": f"SQLite database {path}", "revision": head,
                               "head": head}


def test_db_upgrade_reports_problems_in_one_line(capsys, tmp_path, use_env):
    use_env(GRADCHECK_DATABASE_URL="postgresql://gradcheck:secret@127.0.0.1:1/gradcheck")
    code, out, err = cli(capsys, "db", "upgrade")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "cannot be reached" in err and "127.0.0.1:1" in err and "secret" not in err

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    use_env(GRADCHECK_DATABASE_URL=f"sqlite:///{garbage}")
    code, out, err = cli(capsys, "db", "upgrade")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a readable" in err


async def test_db_upgrade_on_postgresql(capsys, use_env):
    """The real command against a fresh PostgreSQL database (a URL cannot carry a schema)."""
    url = await require_postgres()
    name = f"gc_cli_{uuid.uuid4().hex[:12]}"
    admin = await pg_connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        await admin.close()
        pytest.skip("the PostgreSQL user may not create databases")
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        use_env(GRADCHECK_DATABASE_URL=target)
        code = await run(main, ["db", "upgrade", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out)["revision"] == revisions()[-1]
        checks = await run(lambda: health.run_checks(get_settings(), load_model=_no_model))
        assert [c.ok for c in checks[:2]] == [True, True], checks
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


# --- gradcheck health -------------------------------------------------------------------------


class _NoModel:
    """Stands in for the embedder where a test is about the other checks."""

    def encode(self, texts):
        import numpy as np

        return np.ones((len(texts), 4), dtype=np.float32)


def _no_model(_name):
    return _NoModel()


@pytest.fixture
def fresh_env(subprocess_env, runtime, use_env):
    """Settings on the session's data dir (its index made fresh) and a new SQLite file."""
    use_env(GRADCHECK_DATA_DIR=str(runtime.settings.data_dir),
            GRADCHECK_DATABASE_URL=subprocess_env["GRADCHECK_DATABASE_URL"])
    return subprocess_env["GRADCHECK_DATABASE_URL"]


def test_health_before_and_after_db_upgrade(capsys, fresh_env):
    code, out, _ = cli(capsys, "health", "--json")
    report = json.loads(out)
    assert code == 4 and report["exit_code"] == 4 and not report["ok"]
    by_name = {c["name"]: c for c in report["checks"]}
    assert list(by_name) == ["database", "migrations", "index", "model"]
    assert by_name["database"]["ok"] and "does not exist yet" in by_name["database"]["detail"]
    assert "gradcheck db upgrade" in by_name["migrations"]["detail"]
    assert by_name["index"]["ok"] and by_name["model"]["ok"]
    assert not sqlite_path(fresh_env).exists()  # health never creates the database

    assert cli(capsys, "db", "upgrade")[0] == 0
    code, out, _ = cli(capsys, "health")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "database"], ["ok", "migrations"], ["ok", "index"], ["ok", "model"]]
    assert f"at head {revisions()[-1]}" in lines[1]
    assert re.search(r"index +\d+ rows, fresh", lines[2]), lines[2]


def test_health_exit_codes_name_the_first_failure(capsys, fresh_env, runtime, tmp_path, use_env):
    assert cli(capsys, "db", "upgrade")[0] == 0

    # 6: the model does not load (everything else fine). The index was made fresh for the
    # knowledge files as they are now (fresh_env), so the checks load those, not runtime.kb.
    settings = get_settings()

    def broken(_name):
        raise OSError("model files missing")

    checks = health.run_checks(settings, load_model=broken)
    assert health.exit_code(checks) == 6
    assert "model files missing" in checks[-1].detail

    # 5: a stale index (knowledge changed since it was built), and no index at all.
    stale_dir = tmp_path / "data"
    shutil.copytree(runtime.settings.index_dir, stale_dir / "index")
    meta_path = stale_dir / "index" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(meta | {"knowledge_hash": "0" * 16}))
    stale = Settings(data_dir=stale_dir, database_url=fresh_env)
    checks = health.run_checks(stale, kb=runtime.kb, load_model=_no_model)
    assert health.exit_code(checks) == 5
    assert "knowledge" in checks[2].detail
    assert json.loads(meta_path.read_text())["knowledge_hash"] == "0" * 16  # not rebuilt
    empty = Settings(data_dir=tmp_path / "empty", database_url=fresh_env)
    checks = health.run_checks(empty, kb=runtime.kb, load_model=_no_model)
    assert health.exit_code(checks) == 5 and "gradcheck index build" in checks[2].detail

    # 4: migrations behind head.
    behind = tmp_path / "behind.sqlite3"
    upgrade_database(f"sqlite:///{behind}", revisions()[0])
    if len(revisions()) > 1:
        checks = health.run_checks(settings, url=f"sqlite:///{behind}", kb=runtime.kb,
                                   load_model=_no_model)
        assert health.exit_code(checks) == 4
        assert f"at {revisions()[0]}, head is {revisions()[-1]}" in checks[1].detail

    # 4 too: a database migrated by a newer gradcheck.
    newer = tmp_path / "newer.sqlite3"
    upgrade_database(f"sqlite:///{newer}")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    checks = health.run_checks(settings, url=f"sqlite:///{newer}", kb=runtime.kb,
                               load_model=_no_model)
    assert health.exit_code(checks) == 4 and "newer than this gradcheck" in checks[1].detail

    # 3: the database does not answer, whatever else fails too.
    use_env(GRADCHECK_DATABASE_URL="postgresql://gradcheck:secret@127.0.0.1:1/gradcheck",
            GRADCHECK_DATA_DIR=str(tmp_path / "empty"))
    code, out, _ = cli(capsys, "health")
    assert code == 3
    assert out.splitlines()[0].startswith("FAIL  database") and "secret" not in out


async def test_health_on_postgresql(postgresql, runtime):
    """The database half (index and model: the SQLite tests above)."""
    database = postgresql

    def check():
        checks = health.run_checks(runtime.settings, url=database.url,
                                   engine_kwargs=database.options, kb=runtime.kb,
                                   load_model=_no_model)
        return [c for c in checks if c.name in ("database", "migrations")]

    before = await run(check)
    assert health.exit_code(before) == 4 and "no schema yet" in before[1].detail
    await run(database.upgrade)
    after = await run(check)
    assert health.exit_code(after) == 0, after
    assert "at head" in after[1].detail
