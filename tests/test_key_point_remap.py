"""Migration 0004: stored key point progress follows the knowledge base's merged, split and
rewritten key points (bot/migrations/versions/0004_key_point_remap.py has the map and the rules).

Rows are seeded as the previous release wrote them (revision 0003), the database is upgraded, and
every row of every table is compared with what it should be: moved rows keep every column but the
index, merged points keep the better row, dropped and new points have no row, and nothing else
changes. On a real SQLite file and on PostgreSQL (tests/postgres.py; a fresh schema per test).
The expected indices below were written from the knowledge diff, not from the migration's table.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.pool import NullPool

from bot.storage.database import create_engine, upgrade_database
from bot.storage.progress import ProgressStore
from bot.storage.schema import (
    attempts,
    key_point_progress,
    mock_answers,
    mock_nights,
    mock_participants,
    mock_rounds,
    qotd_schedules,
    reviews,
)
from tests.postgres import fresh_schema

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MIGRATION = "bot/storage/migrations/versions/0004_key_point_remap.py"


def migration_module():
    spec = importlib.util.spec_from_file_location("migration_0004", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# new index -> the old index whose row it gets, for a user with a row at every old index and no
# merge to decide (merges are decided per user below). Indices not listed: no row.
SURVIVORS = {
    "8.3.43.2": {0: 0, 1: 1, 2: 2, 4: 4},  # 3: different claim now; 5: new point
    "8.3.44.3": {0: 0, 1: 1, 2: 2, 4: 4},  # 3: now says the opposite
    "8.3.48": {0: 0, 1: 1, 3: 3, 4: 5},  # 2: merge of old 2 and 4
    "8.3.58.1": {2: 2, 3: 3, 4: 4, 5: 5},  # 0: merge of old 0 and 1; 1: new point
    "8.3.58.2": {0: 0, 1: 1, 2: 2, 3: 3, 5: 5},  # 4: sharp minima now a debated claim
    "8.3.60.1": {0: 0, 1: 1, 4: 4, 5: 5},  # 2: merge of old 2 and 3; 3: new point
    "8.3.64": {1: 2, 3: 5},  # 0: merge of old 0 and 1; 2: merge of old 3 and 4; 4: new
    "8.3.66.2": {0: 0, 1: 1, 3: 3, 4: 4, 5: 5},  # 2: flat minima now a debated claim
}
OLD_COUNTS = {"8.3.43.2": 5, "8.3.44.3": 5, "8.3.48": 6, "8.3.58.1": 6, "8.3.58.2": 6,
              "8.3.60.1": 6, "8.3.64": 6, "8.3.66.2": 6}
UNTOUCHED = {"8.3.41": 5, "8.3.42": 5, "8.3.x.recipe": 5}  # entries the migration must not touch


@dataclass
class Db:
    url: str
    options: dict

    def engine(self):
        return create_engine(self.url, poolclass=NullPool, **self.options)

    def upgrade(self, revision: str = "head") -> None:
        upgrade_database(self.url, revision, **self.options)


async def db_upgrade(db: Db, revision: str) -> None:
    await asyncio.to_thread(db.upgrade, revision)  # Alembic drives its own event loop


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    if request.param == "sqlite":
        yield Db(f"sqlite+aiosqlite:///{tmp_path / 'gc.sqlite3'}", {})
        return
    async with fresh_schema("gc_remap") as (url, schema):
        yield Db(url, {"schema": schema})


def kp_row(user, question, index, *, mastered=False, streak=1, times=3, due=False):
    """A progress row; updated_at is unique per (user, question, old index) and identifies it."""
    stamp = T0 + timedelta(minutes=index, hours=sum(map(ord, question)) % 97,
                           days=int(user[1:]))
    return {"user_id": user, "question_id": question, "key_point_index": index,
            "times_covered": times, "streak": 0 if due else streak, "mastered": mastered,
            "due_at": stamp + timedelta(days=1) if due else None, "updated_at": stamp}


def seed_rows() -> list[dict]:
    rows = []
    # u1: a row at every old index of every entry; merges decided by the ranking.
    for question, count in {**OLD_COUNTS, **UNTOUCHED}.items():
        overrides = {
            ("8.3.48", 2): {"streak": 1}, ("8.3.48", 4): {"mastered": True, "streak": 2},
            ("8.3.58.1", 0): {"due": True}, ("8.3.58.1", 1): {"streak": 1},
            ("8.3.60.1", 2): {"times": 3}, ("8.3.60.1", 3): {"times": 5},
            ("8.3.64", 3): {}, ("8.3.64", 4): {"due": True},  # 0 and 1 tie: old 0 wins
            ("8.3.43.2", 3): {"mastered": True, "streak": 4},  # dropped however good
        }
        for i in range(count):
            rows.append(kp_row("u1", question, i, **overrides.get((question, i), {})))
    # u2: a few rows only.
    rows += [
        kp_row("u2", "8.3.48", 2, due=True), kp_row("u2", "8.3.48", 4, streak=1),
        kp_row("u2", "8.3.48", 5, mastered=True, streak=3),
        kp_row("u2", "8.3.64", 1, mastered=True, streak=2),
        kp_row("u2", "8.3.64", 4, due=True),
        kp_row("u2", "8.3.44.3", 3, mastered=True, streak=2),
        kp_row("u2", "8.3.60.1", 3, due=True),
        kp_row("u2", "8.3.42", 4),
        kp_row("u2", "8.3.64", 7),  # an index the old entry never had
    ]
    return rows


# (user, question) -> {new index: old index}: the merges, decided by the ranking.
MERGED = {
    ("u1", "8.3.48"): {2: 4},  # old 4 is mastered
    ("u1", "8.3.58.1"): {0: 1},  # old 0 was missed last time (streak 0), old 1 was not
    ("u1", "8.3.60.1"): {2: 3},  # same streak, old 3 covered more often
    ("u1", "8.3.64"): {0: 0, 2: 3},  # full tie: lower old index; old 4 is due
    ("u2", "8.3.48"): {2: 4, 4: 5},  # old 2 missed; old 5 moves to 4
    ("u2", "8.3.64"): {0: 1, 2: 4},  # the only rows there
    ("u2", "8.3.60.1"): {2: 3},
    ("u2", "8.3.42"): {4: 4},
}


def expected_rows(seeded: list[dict]) -> dict[tuple, dict]:
    by_key = {(r["user_id"], r["question_id"], r["key_point_index"]): r for r in seeded}
    out = {}
    for user in ("u1", "u2"):
        for question in {**OLD_COUNTS, **UNTOUCHED}:
            if user == "u1":
                plan = dict(SURVIVORS.get(question, {i: i for i in range(UNTOUCHED.get(question, 0))}))
            else:
                plan = {}
            plan.update(MERGED.get((user, question), {}))
            for new, old in plan.items():
                out[(user, question, new)] = dict(by_key[(user, question, old)], key_point_index=new)
    return out


async def read_all(engine, table) -> list[dict]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(table))).mappings().all()
    keys = [c.name for c in table.primary_key.columns]
    return sorted((dict(r) for r in rows), key=lambda r: tuple(str(r[k]) for k in keys))


async def seed(engine, rows: list[dict]) -> None:
    pairs = sorted({(r["user_id"], r["question_id"]) for r in rows})
    async with engine.begin() as conn:
        await conn.execute(insert(attempts), [
            {"user_id": u, "guild_id": "g1", "question_id": q, "answer": f"answer {u} {q}",
             "verdict": "partial", "score": 0.5, "hints_used": 0, "seconds": 9.5,
             "created_at": T0} for u, q in pairs])
        await conn.execute(insert(reviews), [
            {"user_id": u, "question_id": q, "ease": 2.5, "interval_days": 1.0, "repetitions": 1,
             "lapses": 0, "due_at": T0 + timedelta(days=3), "last_score": 0.5, "updated_at": T0}
            for u, q in pairs])
        await conn.execute(insert(key_point_progress), rows)
        await conn.execute(insert(qotd_schedules), [
            {"guild_id": "g1", "channel_id": "c1", "post_hour": 9, "post_minute": 0,
             "question_id": "8.3.64", "thread_id": "t1", "last_posted_at": T0, "updated_at": T0}])
        await conn.execute(insert(mock_nights), [
            {"id": 1, "guild_id": "g1", "channel_id": "c1", "thread_id": "t2",
             "lobby_message_id": "m1", "host_id": "u1", "mode": "open", "rounds_total": 4,
             "seconds": 120, "difficulty": None, "topics": "", "state": "reveal",
             "paused_from": None, "remaining": None, "deadline": None, "created_at": T0,
             "updated_at": T0, "ended_at": None, "end_note": None}])
        await conn.execute(insert(mock_participants), [
            {"night_id": 1, "user_id": u, "name": u, "joined_at": T0, "left_at": None,
             "role": None, "partner_id": None} for u in ("u1", "u2")])
        await conn.execute(insert(mock_rounds), [
            {"night_id": 1, "number": n, "question_id": q, "opened_at": T0, "deadline": T0,
             "closed_at": T0, "skipped": False, "paused_seconds": 0.0, "message_id": f"r{n}"}
            for n, q in ((1, "8.3.64"), (2, "8.3.41"), (3, "8.3.48"), (4, "8.3.44.3"))])
        await conn.execute(insert(mock_answers), [
            {"night_id": 1, "round_number": n, "user_id": u, "answer": "a", "submitted_at": T0,
             "seconds": 30.0, "verdict": v, "score": s, "covered": c, "marks": m,
             "graded_at": T0 if v else None}
            for n, u, v, s, c, m in (
                (1, "u1", "partial", 0.6, "1,0,0,1,0,1", "1,-,0,0,-,1"),
                (1, "u2", None, None, None, None),  # not graded yet
                (2, "u1", "correct", 0.9, "1,0,1,1,0", None),  # untouched entry
                (3, "u1", "partial", 0.5, "1,1,0", "0,0,0"),  # not the old length: left alone
                (3, "u2", "partial", 0.5, "0,1,1,0,1,0", None),
                (4, "u1", "correct", 0.8, "1,1,1,1,1", "1,1,1,1,1"),
            )])


# (round, user) -> (covered, marks) after the upgrade
EXPECTED_MOCK = {
    (1, "u1"): ("1,0,1,1,-", "1,0,0,1,-"),  # 0+1, 2, 3+4, 5, new
    (1, "u2"): (None, None),
    (2, "u1"): ("1,0,1,1,0", None),
    (3, "u1"): ("1,1,0", "0,0,0"),
    (3, "u2"): ("0,1,1,0,0", None),  # 0, 1, 2+4, 3, 5
    (4, "u1"): ("1,1,1,-,1", "1,1,1,-,1"),  # 3 dropped
}


async def test_upgrade_remaps_key_point_rows_and_changes_nothing_else(db, kb):
    await db_upgrade(db, "0003")
    engine = db.engine()
    rows = seed_rows()
    others = (attempts, reviews, qotd_schedules, mock_nights, mock_participants, mock_rounds)
    try:
        await seed(engine, rows)
        before = {t.name: await read_all(engine, t) for t in others}
        mock_before = await read_all(engine, mock_answers)
        await db_upgrade(db, "head")

        after = await read_all(engine, key_point_progress)
        got = {(r["user_id"], r["question_id"], r["key_point_index"]): r for r in after}
        assert len(got) == len(after)
        want = expected_rows(rows)
        assert sorted(got) == sorted(want)
        for key, row in want.items():
            assert got[key] == row, key
        for t in others:
            assert await read_all(engine, t) == before[t.name], t.name
        mock_after = await read_all(engine, mock_answers)
        assert [{k: v for k, v in r.items() if k not in ("covered", "marks")} for r in mock_after] \
            == [{k: v for k, v in r.items() if k not in ("covered", "marks")} for r in mock_before]
        assert {(r["round_number"], r["user_id"]): (r["covered"], r["marks"])
                for r in mock_after} == EXPECTED_MOCK
    finally:
        await engine.dispose()

    # Every remaining index exists in the entry as it is now, and the app reads the result.
    for user, question, index in got:
        assert index < len(kb.entries[question].key_points), (user, question, index)
    store = await ProgressStore.open(db.url, **db.options)
    try:
        due = {d.question_id: d.missed_key_points
               for d in await store.due_reviews("u2", T0 + timedelta(days=30), limit=None)}
        assert due["8.3.48"] == ()  # the missed old 2 lost the merge to old 4
        assert due["8.3.64"] == (2,)  # old 4 was missed and is now part of 2
        assert due["8.3.60.1"] == (2,)
        stats = await store.stats("u2", kb)
        assert stats.questions_attempted == 5
    finally:
        await store.close()


async def test_upgrade_of_an_empty_database_and_again(db):
    await db_upgrade(db, "0003")
    await db_upgrade(db, "head")
    await db_upgrade(db, "head")  # nothing to do
    engine = db.engine()
    try:
        assert await read_all(engine, key_point_progress) == []
    finally:
        await engine.dispose()


def test_the_map_fits_the_knowledge_base_as_it_is(kb):
    """The migration's new counts are the entries' current ones, and every index it moves to
    exists; the test's own expectations agree with it."""
    module = migration_module()
    assert set(module.REMAPS) == set(SURVIVORS)
    for question, remap in module.REMAPS.items():
        assert remap.new_count == len(kb.entries[question].key_points), question
        assert remap.old_count == OLD_COUNTS[question]
        for new, old in SURVIVORS[question].items():
            assert remap.moves[old] == new
            assert remap.sources(new) == [old], (question, new)


def test_remap_bits():
    module = migration_module()
    remap = module.REMAPS["8.3.64"]  # 0+1 -> 0, 2 -> 1, 3+4 -> 2, 5 -> 3, 4 new
    assert module.remap_bits("0,0,1,0,0,0", remap) == "0,1,0,0,-"
    assert module.remap_bits("-,-,1,-,0,-", remap) == "-,1,0,-,-"
    assert module.remap_bits("1,0,1", remap) == "1,0,1"  # not the old length
    assert module.remap_bits(None, remap) is None
    assert module.remap_bits("", remap) == ""
