"""Two real `gradcheck discord` processes, one shard each, against one PostgreSQL database and
the fake Discord in tests/fake_discord.py: each serves only its own server's interactions, and
every graded answer is stored exactly once, the schedule row shared by both processes included.

Which process answered an interaction is read from the operating system: the fake looks up which
child process owns the client end of the TCP connection each interaction callback arrives on
(/proc, Linux only). PostgreSQL: the server tests/postgres.py finds, as in tests/test_progress.py;
the test makes a fresh database and drops it after. When no server answers, the test is skipped
with the reason (failed under GRADCHECK_TEST_PG_REQUIRED, which `make test` sets).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url

from bot.tutor.scheduling import ReviewState, next_state, quality_from_grade
from tests.fake_discord import DEFER, MESSAGE, MODAL, FakeDiscord
from tests.postgres import pg_connect, require_postgres
from tests.test_discord import button, embed_text, question_id

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to tell the processes apart"
)

ROOT = Path(__file__).resolve().parents[1]
USERS_PER_GUILD = 3
START_TIMEOUT = 90.0  # both processes load the model (in parallel) before they connect
TEST_TIMEOUT = 150.0


# --- which process owns a loopback connection -----------------------------------------------


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the socket whose local end is 127.0.0.1:local_port, connected to remote_port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (int(local.rsplit(":", 1)[1], 16) == local_port
                        and int(remote.rsplit(":", 1)[1], 16) == remote_port):
                    return inode
    return None


def _owner(pids: list[int], local_port: int, remote_port: int) -> int | None:
    inode = _socket_inode(local_port, remote_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == wanted:
                        return pid
    return None


class TracingDiscord(FakeDiscord):
    """The fake Discord, noting which bot process sent each interaction callback and follow-up
    (interaction token -> process ids)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.pids: list[int] = []
        self.answered_by: dict[str, set[int | None]] = {}

    async def _rest(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        parts = tail.split("/")
        if parts[0] in ("interactions", "webhooks") and len(parts) >= 3:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            pid = _owner(self.pids, peer[1], self.port) if peer else None
            self.answered_by.setdefault(parts[2], set()).add(pid)
        return await super()._rest(request)


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
async def pg_database():
    """A fresh PostgreSQL database (the bot's settings take a URL, not a schema): its URL."""
    url = await require_postgres()
    admin = await pg_connect(url)
    name = f"gc_two_{uuid.uuid4().hex[:16]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.PostgresError as exc:
        await admin.close()
        pytest.skip(f"cannot create a PostgreSQL database: {exc}")
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- the bot processes --------------------------------------------------------------------------


async def _launch(env: dict, log: Path) -> asyncio.subprocess.Process:
    with open(log, "wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "discord", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


def _logs(logs: list[Path]) -> str:
    return "\n".join(f"--- {p.name}:\n{p.read_text(errors='replace')[-3000:]}" for p in logs)


async def _both_connected(fake: FakeDiscord, procs, logs: list[Path]) -> None:
    connected = asyncio.create_task(fake.connected(timeout=START_TIMEOUT))
    exits = [asyncio.create_task(p.wait()) for p in procs]
    try:
        done, _ = await asyncio.wait([connected, *exits], timeout=START_TIMEOUT + 5,
                                     return_when=asyncio.FIRST_COMPLETED)
        if connected not in done:
            raise AssertionError(
                f"a bot process did not connect (exit codes {[p.returncode for p in procs]})\n"
                + _logs(logs))
        connected.result()
    finally:
        for task in (connected, *exits):
            task.cancel()


# --- the test -----------------------------------------------------------------------------------


async def _answer(fake: FakeDiscord, user, question: dict, text: str):
    """Press Answer on a question message and submit the modal: the submit interaction."""
    opened = await fake.press(user, int(question["id"]), button(question, "answer"))
    assert (await fake.wait_callback(opened))["type"] == MODAL
    return await fake.submit(user, opened, {"answer": text})


async def test_two_processes_share_one_postgres_without_lost_or_doubled_writes(
    subprocess_env, pg_database, kb, tmp_path
):
    fake = await TracingDiscord(shards=2, guilds=2).start()
    procs: list[asyncio.subprocess.Process] = []
    logs = [tmp_path / "shard0.log", tmp_path / "shard1.log"]
    try:
        async with asyncio.timeout(TEST_TIMEOUT):
            guilds = list(fake.guilds)
            assert [(g >> 22) % 2 for g in guilds] == [0, 1]
            for shard, log in enumerate(logs):
                env = dict(
                    subprocess_env, GRADCHECK_DATABASE_URL=pg_database, DISCORD_TOKEN=fake.token,
                    GRADCHECK_DISCORD_API_BASE=fake.api_base,
                    GRADCHECK_DISCORD_GATEWAY=fake.gateway_url,
                    GRADCHECK_SHARD_COUNT="2", GRADCHECK_SHARD_IDS=str(shard),
                )
                env.pop("GRADCHECK_DEV_GUILD", None)  # global commands: both servers have them
                procs.append(await _launch(env, log))
            fake.pids = [p.pid for p in procs]
            await _both_connected(fake, procs, logs)
            shards = sorted(tuple(d["shard"]) for d in fake.identified)
            assert shards == [(0, 2), (1, 2)], fake.identified
            by_shard = {s: procs[s].pid for s in (0, 1)}

            # Each user asks for a question in their server; one user (shared) in both.
            members = {g: [fake.add_user(f"g{n}u{i}") for i in range(USERS_PER_GUILD)]
                       for n, g in enumerate(guilds)}
            shared = fake.add_user("shared")
            asked = []
            for gid, users in ((guilds[0], [*members[guilds[0]], shared]),
                               (guilds[1], members[guilds[1]])):
                for user in users:
                    asked.append((gid, user, await fake.slash(user, "quiz", guild_id=gid)))
            for _, _, it in asked:
                assert (await fake.wait_callback(it))["type"] == MESSAGE, it.callback
            questions = [(gid, user, fake.messages[it.original_id]) for gid, user, it in asked]

            # The shared user opens the same question in the second server (its "Try" button,
            # as on a related-question suggestion): both processes will update one review row.
            first = next(q for gid, u, q in questions if u is shared)
            qid = question_id(first)
            other = guilds[1]
            offer = fake._message(fake.guilds[other]["channel_id"], fake.bot, {
                "content": "try this one",
                "components": [{"type": 1, "components": [
                    {"type": 2, "style": 2, "label": qid, "custom_id": f"gc:try:{qid}"}]}],
            }, [])
            tried = await fake.press(shared, int(offer["id"]), f"gc:try:{qid}")
            assert (await fake.wait_callback(tried))["type"] == MESSAGE, tried.callback
            second = fake.messages[tried.original_id]
            assert question_id(second) == qid
            questions.append((other, shared, second))

            # Everyone answers at once (the shared user's two answers race across processes).
            def text(q: dict) -> str:
                return " ".join(kb.entries[question_id(q)].key_point_texts)

            submitted = await asyncio.gather(*(_answer(fake, u, q, text(q))
                                               for _, u, q in questions))
            graded = await asyncio.gather(*(fake.wait_reply(s, timeout=60) for s in submitted))
            for (_, user, q), s, reply in zip(questions, submitted, graded, strict=True):
                assert s.callback["type"] == DEFER
                assert f"· {question_id(q)}" in embed_text(reply)
                assert f"{user.name}'s answer" in embed_text(reply)

            # Every interaction in a server was answered by the process holding its shard only.
            interactions = [it for _, _, it in asked] + [tried] + submitted
            for it in interactions:
                want = by_shard[fake.shard_of(it.guild_id)]
                assert fake.answered_by.get(it.token) == {want}, (
                    f"interaction in guild {it.guild_id} (shard {fake.shard_of(it.guild_id)}) "
                    f"answered by {fake.answered_by.get(it.token)}, expected {{{want}}}")
            assert not fake.unknown, f"the bot called routes the fake does not know: {fake.unknown}"

            # The database, read directly: one attempt per answer, in the right server.
            db = await pg_connect(pg_database)
            try:
                rows = await db.fetch(
                    "SELECT user_id, guild_id, question_id, verdict, score, hints_used, created_at"
                    " FROM attempts ORDER BY id")
                review = await db.fetchrow(
                    "SELECT * FROM reviews WHERE user_id = $1 AND question_id = $2",
                    str(shared.id), qid)
                review_count = await db.fetchval("SELECT count(*) FROM reviews")
            finally:
                await db.close()
            got = sorted((r["user_id"], r["guild_id"], r["question_id"]) for r in rows)
            want = sorted((str(u.id), str(gid), question_id(q)) for gid, u, q in questions)
            assert got == want, "lost or doubled attempts"
            assert len(want) == 2 * USERS_PER_GUILD + 2
            assert review_count == 2 * USERS_PER_GUILD + 1  # one per (user, question)

            # The shared review row went through both attempts, one after the other.
            mine = [r for r in rows if r["user_id"] == str(shared.id)]
            assert {r["guild_id"] for r in mine} == {str(g) for g in guilds}
            state = None
            for r in sorted(mine, key=lambda r: r["created_at"]):
                quality = quality_from_grade(r["verdict"], r["score"], r["hints_used"])
                state = next_state(state or ReviewState.new(r["created_at"]), quality,
                                   r["created_at"])
            assert review is not None and state is not None
            assert (review["repetitions"], review["lapses"]) == (state.repetitions, state.lapses)
            assert review["ease"] == pytest.approx(state.ease)
            assert review["updated_at"] in {r["created_at"] for r in mine}
            assert review["last_score"] in {r["score"] for r in mine}
    finally:
        try:
            await asyncio.gather(*(_stop(p) for p in procs))
        finally:
            await fake.stop()
