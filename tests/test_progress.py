"""ProgressStore on a real SQLite file and on a real PostgreSQL (a fresh schema per test).

PostgreSQL: the server tests/postgres.py finds (GRADCHECK_TEST_PG_URL, else 127.0.0.1:5432/test,
trust auth, user postgres, else root; `make test` starts a throwaway one when none answers);
when none answers, the PostgreSQL half of each test is skipped with the reason, or fails under
GRADCHECK_TEST_PG_REQUIRED.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import bot.storage.progress as progress
from bot.domain.results import GradeResult, KeyPointResult
from bot.storage.database import create_engine, upgrade_database
from bot.storage.progress import ProgressStore, StorageError
from bot.storage.schema import Base
from bot.tutor.progress import TopicMastery, collect_due, day_streaks, rank_weakest, readiness
from tests.postgres import fresh_schema

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)


# --- fixtures ---------------------------------------------------------------------------------


def grade(qid: str, verdict: str, score: float, covered: list[bool], hints: int = 0) -> GradeResult:
    return GradeResult(
        question_id=qid,
        verdict=verdict,
        score=score,
        key_points=[
            KeyPointResult(f"key point {i}", c, 0.7 if c else 0.2) for i, c in enumerate(covered)
        ],
        misconceptions=[],
        feedback="",
        reference_answer="",
        hints_used=hints,
    )


@dataclass
class FakeEntry:
    topic_names: list[str]
    key_points: list[str] = field(default_factory=list)


@dataclass
class FakeKB:
    entries: dict[str, FakeEntry]


def _points(n: int) -> list[str]:
    return [f"point {i}" for i in range(n)]


KB = FakeKB(
    {
        "8.3.41": FakeEntry(["optimization"], _points(3)),
        "8.3.42": FakeEntry(["optimization", "training-dynamics"], _points(4)),
        "8.3.59": FakeEntry(["optimization"], _points(5)),
        "8.3.65": FakeEntry(["initialization"], _points(3)),
    }
)

@dataclass
class Database:
    kind: str
    url: str
    options: dict

    async def open(self, **extra) -> ProgressStore:
        return await ProgressStore.open(self.url, **self.options, **extra)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, tmp_path):
    if request.param == "sqlite":
        # A folder that does not exist yet: open must create it.
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gc.sqlite3'}", {})
        return
    async with fresh_schema("gc_test") as (url, schema):
        yield Database("postgresql", url, {"schema": schema})


@pytest.fixture
async def store(database):
    opened = await database.open()
    yield opened
    await opened.close()


# --- pure helpers -----------------------------------------------------------------------------


def test_day_streaks():
    d = date(2025, 3, 10)
    days = [d - timedelta(days=k) for k in (9, 8, 7, 1, 0)]
    assert day_streaks(days, d) == (2, 3)
    assert day_streaks(days, d + DAY) == (2, 3)  # the run may end yesterday
    assert day_streaks(days, d + 2 * DAY) == (0, 3)
    assert day_streaks([], d) == (0, 0)
    assert day_streaks([d, d, d], d) == (1, 1)


def test_collect_due_orders_most_overdue_first():
    now = T0
    due = collect_due(
        {"a": now - DAY, "b": now - 3 * DAY, "c": now + DAY},
        {"c": [(2, now - 2 * DAY), (0, now - DAY)], "d": [(1, now + DAY)], "a": [(1, now)]},
        now,
    )
    assert [(r.question_id, r.due_at, r.missed_key_points) for r in due] == [
        ("b", now - 3 * DAY, ()),
        ("c", now - 2 * DAY, (0, 2)),
        ("a", now - DAY, (1,)),
    ]
    assert len(collect_due({"a": now, "b": now}, {}, now, limit=1)) == 1


def test_rank_weakest_and_readiness():
    topics = [
        TopicMastery("a", 1, 0, 10, 1, 2),  # 0.1
        TopicMastery("b", 0, 0, 4, 0, 1),  # untouched, small
        TopicMastery("c", 3, 2, 8, 2, 2),  # 0.5
        TopicMastery("d", 0, 0, 9, 0, 3),  # untouched, large
    ]
    assert [t.topic for t in rank_weakest(topics)] == ["a", "c", "d", "b"]
    score, sentence = readiness(topics)
    assert score == round(100 * (1 + 3 + 0.5 * 2) / 31)
    assert "focus next on a" in sentence and "\n" not in sentence
    assert readiness([TopicMastery("a", 0, 0, 3, 0, 1)])[0] == 0


# --- the store, on both databases -------------------------------------------------------------


async def test_attempt_persists_across_reopen(database):
    store = await database.open()
    recorded = await store.record_attempt(
        "u1",
        "8.3.41",
        "Overfit a small batch first.",
        grade("8.3.41", "correct", 0.8, [True] * 3),
        seconds=42.5,
        guild_id="g1",
        now=T0,
    )
    assert recorded.attempt_id and recorded.quality == 4
    await store.close()

    store = await database.open()  # migrations again: a no-op
    try:
        [row] = await store.recent_attempts("u1")
        assert row.question_id == "8.3.41"
        assert row.answer == "Overfit a small batch first."
        assert (row.verdict, row.score, row.hints_used, row.seconds, row.guild_id) == (
            "correct",
            0.8,
            0,
            42.5,
            "g1",
        )
        assert row.created_at == T0 and row.created_at.tzinfo is not None
        assert await store.seen_question_ids("u1") == {"8.3.41"}
        assert await store.seen_question_ids("someone else") == set()
        assert [r.question_id for r in await store.due_reviews("u1", T0 + DAY)] == ["8.3.41"]
    finally:
        await store.close()


async def test_schedule_follows_sm2(store):
    qid, full = "8.3.42", [True] * 4
    first = await store.record_attempt("u", qid, "a", grade(qid, "correct", 0.7, full), 10, now=T0)
    assert (first.review.interval_days, first.review.due_at) == (1, T0 + DAY)
    assert await store.due_reviews("u", T0 + DAY - timedelta(minutes=1)) == []
    [due] = await store.due_reviews("u", T0 + DAY)
    assert (due.question_id, due.due_at, due.missed_key_points) == (qid, T0 + DAY, ())

    now = T0 + DAY
    second = await store.record_attempt(
        "u", qid, "a", grade(qid, "correct", 0.7, full), 10, now=now
    )
    assert second.review.due_at == now + 6 * DAY
    now += 6 * DAY
    third = await store.record_attempt("u", qid, "a", grade(qid, "correct", 0.7, full), 10, now=now)
    assert third.review.due_at == now + 15 * DAY  # 6 * EF 2.5
    assert await store.due_reviews("u", now + 14 * DAY) == []
    assert [d.due_at for d in await store.due_reviews("u", now + 15 * DAY)] == [now + 15 * DAY]

    now += 15 * DAY
    wrong = await store.record_attempt(
        "u", qid, "a", grade(qid, "incorrect", 0.1, [False] * 4), 5, now=now
    )
    assert wrong.quality == 1
    assert (wrong.review.repetitions, wrong.review.lapses) == (0, 1)
    assert wrong.review.ease == pytest.approx(2.5 - 0.54)
    [due] = await store.due_reviews("u", now + DAY)
    assert due.due_at == now + DAY and due.missed_key_points == (0, 1, 2, 3)


async def test_missed_key_points_make_a_question_due(store):
    qid = "8.3.41"
    await store.record_attempt("u", qid, "a", grade(qid, "correct", 0.9, [True] * 3), 1, now=T0)
    await store.record_attempt(
        "u", qid, "a", grade(qid, "correct", 0.9, [True] * 3), 1, now=T0 + DAY
    )
    now = T0 + 7 * DAY
    recorded = await store.record_attempt(
        "u", qid, "a", grade(qid, "correct", 0.9, [True, False, True]), 1, now=now
    )
    assert recorded.review.interval_days >= 15  # SM-2 alone would wait two weeks...
    [due] = await store.due_reviews("u", now + DAY)  # ...but the missed key point is due tomorrow
    assert (due.question_id, due.due_at, due.missed_key_points) == (qid, now + DAY, (1,))
    # Another, older overdue question comes first.
    await store.record_attempt(
        "u", "8.3.65", "a", grade("8.3.65", "partial", 0.5, [True] * 3), 1, now=T0
    )
    assert [d.question_id for d in await store.due_reviews("u", now + DAY)] == ["8.3.65", qid]
    assert [d.question_id for d in await store.due_reviews("u", now + DAY, limit=1)] == ["8.3.65"]
    # Covering it again clears it: nothing due until the SM-2 date.
    await store.record_attempt(
        "u", qid, "a", grade(qid, "correct", 0.9, [True] * 3), 1, now=now + DAY
    )
    assert [d.question_id for d in await store.due_reviews("u", now + 2 * DAY)] == ["8.3.65"]


async def test_streaks_count_utc_days(store):
    qid, result = "8.3.41", grade("8.3.41", "correct", 0.9, [True] * 3)
    day0 = datetime(2025, 5, 1, 23, 59, tzinfo=UTC)
    moments = [
        day0,
        day0 + timedelta(minutes=2),  # 00:01 next UTC day
        day0 + timedelta(days=1, hours=5),  # same day as the previous one
        day0 + timedelta(days=2),
        day0 + timedelta(days=5),
        day0 + timedelta(days=6),
    ]
    for when in moments:
        await store.record_attempt("u", qid, "a", result, 3, now=when)
    today = day0 + timedelta(days=6)
    stats = await store.stats("u", KB, today)
    assert (stats.current_streak, stats.best_streak) == (2, 3)
    assert (await store.stats("u", KB, today + DAY)).current_streak == 2
    assert (await store.stats("u", KB, today + 2 * DAY)).current_streak == 0


async def test_mastery_and_stats(store):
    await store.record_attempt(
        "u", "8.3.41", "a", grade("8.3.41", "correct", 0.9, [True] * 3), 1, now=T0
    )
    second = await store.record_attempt(
        "u", "8.3.41", "a", grade("8.3.41", "correct", 0.8, [True] * 3), 1, now=T0 + DAY
    )
    assert second.newly_mastered == (0, 1, 2)
    await store.record_attempt(
        "u", "8.3.42", "a", grade("8.3.42", "partial", 0.5, [True, True, False, False]), 1, now=T0
    )
    stats = await store.stats("u", KB, T0 + DAY)
    by_topic = {t.topic: t for t in stats.topics}
    assert by_topic["optimization"] == TopicMastery("optimization", 3, 2, 12, 2, 3)
    assert str(by_topic["optimization"]) == "optimization: 3 of 12 key points mastered"
    assert by_topic["training-dynamics"] == TopicMastery("training-dynamics", 0, 2, 4, 1, 1)
    assert by_topic["initialization"] == TopicMastery("initialization", 0, 0, 3, 0, 1)
    assert (stats.attempts, stats.correct) == (3, 2)
    assert stats.average_score == pytest.approx((0.9 + 0.8 + 0.5) / 3)
    assert (stats.questions_attempted, stats.questions_total) == (2, 4)
    assert stats.due_count == 1  # 8.3.42 (SM-2 and its missed key points); 8.3.41 waits 6 days
    assert stats.readiness == round(100 * (3 + 0.5 * 2 + 0.5 * 2) / 19)
    assert stats.readiness_summary.startswith(f"Readiness {stats.readiness}/100")
    assert stats.to_json()["topics"][0]["topic"] == "initialization"

    weakest = await store.weakest_topics("u", KB, 3)
    assert [t.topic for t in weakest] == ["training-dynamics", "optimization", "initialization"]
    fresh = await store.stats("nobody", KB, T0)
    assert (fresh.attempts, fresh.average_score, fresh.readiness, fresh.due_count) == (0, 0.0, 0, 0)


async def test_leaderboard_week_and_all_time(store):
    now = T0 + 30 * DAY
    week_ago = now - 7 * DAY
    r = grade("8.3.41", "correct", 1.0, [True] * 3)
    for k in range(3):
        await store.record_attempt(
            "alice", "8.3.41", "a", r, 1, guild_id="g1", now=now - (20 + k) * DAY
        )
    for k in range(2):
        await store.record_attempt(
            "bob",
            "8.3.42",
            "a",
            grade("8.3.42", "correct", 0.9, [True] * 4),
            1,
            guild_id="g1",
            now=now - k * DAY,
        )
    await store.record_attempt("carol", "8.3.41", "a", r, 1, guild_id="g2", now=now)
    await store.record_attempt("dave", "8.3.41", "a", r, 1, guild_id=None, now=now)

    all_time = await store.leaderboard("g1")
    assert [(u, round(p, 6), n) for u, p, n in all_time] == [("alice", 3.0, 3), ("bob", 1.8, 2)]
    week = await store.leaderboard("g1", since=week_ago)
    assert [(u, round(p, 6), n) for u, p, n in week] == [("bob", 1.8, 2)]
    assert [row.user_id for row in await store.leaderboard("g1", limit=1)] == ["alice"]
    everywhere = await store.leaderboard(None, since=week_ago)
    assert [row.user_id for row in everywhere] == ["bob", "carol", "dave"]


async def test_forget_user_leaves_others_intact(store):
    for user in ("a", "b"):
        await store.record_attempt(
            user,
            "8.3.41",
            "x",
            grade("8.3.41", "partial", 0.5, [True, False, True]),
            1,
            guild_id="g",
            now=T0,
        )
        await store.record_attempt(
            user,
            "8.3.65",
            "y",
            grade("8.3.65", "correct", 0.9, [True] * 3),
            1,
            guild_id="g",
            now=T0,
        )
    before = await store.stats("b", KB, T0)
    counts = await store.forget_user("a")
    assert counts == {"key_point_progress": 6, "reviews": 2, "attempts": 2}
    after_a = await store.stats("a", KB, T0)
    assert (after_a.attempts, after_a.questions_attempted) == (0, 0)
    assert await store.seen_question_ids("a") == set()
    assert await store.due_reviews("a", T0 + 30 * DAY) == []
    assert await store.stats("b", KB, T0) == before
    assert [row.user_id for row in await store.leaderboard("g")] == ["b"]
    assert await store.forget_user("a") == {"key_point_progress": 0, "reviews": 0, "attempts": 0}


async def test_failure_mid_transaction_leaves_nothing(store, monkeypatch):
    qid = "8.3.41"
    await store.record_attempt("u", qid, "first", grade(qid, "correct", 0.9, [True] * 3), 1, now=T0)
    due_before = await store.due_reviews("u", T0 + 30 * DAY)

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    # The attempt row and the review update are written before the key points fail.
    monkeypatch.setattr(progress, "next_key_point_state", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.record_attempt(
            "u", qid, "second", grade(qid, "incorrect", 0.1, [False] * 3), 1, now=T0 + DAY
        )
    monkeypatch.undo()

    assert [row.answer for row in await store.recent_attempts("u")] == ["first"]
    assert await store.due_reviews("u", T0 + 30 * DAY) == due_before
    assert (await store.stats("u", KB, T0 + DAY)).attempts == 1


async def test_concurrent_attempts_are_all_stored(store):
    questions = ["8.3.41", "8.3.42", "8.3.59", "8.3.65"]
    order = [q for _ in range(5) for q in questions]
    results = await asyncio.gather(
        *(
            store.record_attempt(
                "u",
                q,
                "answer",
                grade(q, "correct", 0.9, [True] * len(KB.entries[q].key_points)),
                1,
                guild_id="g",
                now=T0,
            )
            for q in order
        )
    )
    assert len({r.attempt_id for r in results}) == 20
    stats = await store.stats("u", KB, T0)
    assert stats.attempts == 20 and stats.questions_attempted == 4
    # Each attempt saw the state the previous one left: no lost updates.
    for q in questions:
        reps = sorted(r.review.repetitions for r, rq in zip(results, order, strict=True) if rq == q)
        assert reps == [1, 2, 3, 4, 5]
    assert all(t.mastered == t.total for t in stats.topics)
    assert (await store.leaderboard("g"))[0].attempts == 20


async def test_migrations_match_the_models(database):
    upgrade_database(database.url, **database.options)  # from async code: runs in a thread
    engine = create_engine(database.url, **database.options)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
    assert diff == []
    assert version == "0004"  # 0004: key point progress remapped to the edited knowledge base


async def test_rejects_bad_arguments(store):
    r = grade("8.3.41", "correct", 0.9, [True] * 3)
    with pytest.raises(ValueError, match="not '8.3.42'"):
        await store.record_attempt("u", "8.3.42", "a", r, 1, now=T0)
    with pytest.raises(ValueError, match="timezone"):
        await store.record_attempt("u", "8.3.41", "a", r, 1, now=datetime(2025, 1, 1))
    assert await store.recent_attempts("u") == []


async def test_real_knowledge_base(store):
    from knowledge.loader import load_knowledge

    kb = load_knowledge(require_all=False)
    if not kb.entries:
        pytest.skip("the knowledge base has no entries yet")
    qid, entry = next(iter(kb.entries.items()))
    covered = [True] * len(entry.key_points)
    for k in range(2):
        await store.record_attempt(
            "u", qid, "a", grade(qid, "correct", 0.9, covered), 1, now=T0 + k * DAY
        )
    stats = await store.stats("u", kb, T0 + DAY)
    assert stats.questions_total == len(kb.entries) and stats.questions_attempted == 1
    assert {t.topic for t in stats.topics} == set(kb.topics())
    for topic in entry.topic_names:
        [t] = [t for t in stats.topics if t.topic == topic]
        assert t.mastered == len(entry.key_points)
        assert t.total == sum(
            len(e.key_points) for e in kb.entries.values() if topic in e.topic_names
        )
    assert 0 < stats.readiness <= 100


# --- failures that must not touch data (SQLite files) ------------------------------------------


async def test_corrupt_sqlite_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "gradcheck.sqlite3"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(StorageError) as caught:
        await ProgressStore.open(f"sqlite+aiosqlite:///{path}")
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    assert "not a readable SQLite database" in message
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradcheck.sqlite3"]


async def test_locked_sqlite_database_is_reported(tmp_path):
    path = tmp_path / "gradcheck.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    store = await ProgressStore.open(url, busy_timeout_ms=100)
    await store.record_attempt(
        "u", "8.3.41", "a", grade("8.3.41", "correct", 0.9, [True] * 3), 1, now=T0
    )

    other = sqlite3.connect(path, isolation_level=None)  # another process holding the write lock
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="locked") as caught:
            await store.record_attempt(
                "u", "8.3.41", "b", grade("8.3.41", "correct", 0.9, [True] * 3), 1, now=T0
            )
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)
        with pytest.raises(StorageError, match="locked"):
            await ProgressStore.open(url, busy_timeout_ms=100)
        assert len(await store.recent_attempts("u")) == 1  # readers are not blocked (WAL)
    finally:
        other.rollback()
        other.close()
    await store.record_attempt(
        "u", "8.3.41", "c", grade("8.3.41", "correct", 0.9, [True] * 3), 1, now=T0
    )
    assert len(await store.recent_attempts("u")) == 2
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.recent_attempts("u")


async def test_database_newer_than_the_code_is_reported(tmp_path):
    path = tmp_path / "gradcheck.sqlite3"
    await (await ProgressStore.open(f"sqlite+aiosqlite:///{path}")).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StorageError, match="newer than this gradcheck") as caught:
        await ProgressStore.open(f"sqlite+aiosqlite:///{path}")
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


async def test_unusable_urls_raise_storage_error():
    with pytest.raises(StorageError, match="in memory"):
        await ProgressStore.open("sqlite+aiosqlite://")
    with pytest.raises(StorageError, match="cannot be reached") as caught:
        await ProgressStore.open("postgresql+asyncpg://postgres:secret@127.0.0.1:1/test")
    assert "127.0.0.1:1" in str(caught.value) and "secret" not in str(caught.value)
