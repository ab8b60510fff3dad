"""Stopping the Discord bot: SIGTERM (docker stop, systemd) and Ctrl-C finish the work in flight,
refuse new work, close the database and exit 0.

The first test drives the drain in-process with a grade held open; the second runs a real
`gradcheck discord` process against the fake Discord and sends it SIGTERM while it grades an
answer and runs a demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from bot.storage.progress import ProgressStore
from tests import test_discord
from tests.fake_discord import DEFER, EPHEMERAL, MODAL, FakeDiscord
from tests.test_discord import GOOD_ANSWER_65, button, embed_text, question_id, start_quiz

fake, bot = test_discord.fake, test_discord.bot  # the same fixtures: a fake Discord, a bot on it

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0  # the process loads the model and index before it connects
STOP_TIMEOUT = 30.0  # docker-compose.yml's stop_grace_period


async def test_stopping_refuses_new_work_and_finishes_an_answer_in_flight(fake, bot, monkeypatch):
    release = asyncio.Event()
    grading = asyncio.Event()
    real_grade = bot.service.grade

    async def held(*args, **kwargs):
        grading.set()
        await release.wait()
        return await real_grade(*args, **kwargs)

    monkeypatch.setattr(bot.service, "grade", held)
    ana, ben = fake.add_user("ana"), fake.add_user("ben")
    question = await start_quiz(fake, ana, topic="initialization")
    opened = await fake.press(ana, int(question["id"]), button(question, "answer"))
    assert (await fake.wait_callback(opened))["type"] == MODAL
    entry = bot.runtime.kb.entries[question_id(question)]
    submitted = await fake.submit(ana, opened, {"answer": " ".join(entry.key_point_texts)})
    assert (await fake.wait_callback(submitted))["type"] == DEFER
    await asyncio.wait_for(grading.wait(), 10)

    drain = asyncio.create_task(bot.drain(timeout=60))
    await asyncio.sleep(0.05)
    assert bot.draining and not drain.done()  # waiting for ana's answer
    refused = await fake.wait_callback(await fake.slash(ben, "help"))
    assert refused["data"]["flags"] & EPHEMERAL and "restarting" in refused["data"]["content"]
    said = await fake.say(ben, GOOD_ANSWER_65, reply_to=int(question["id"]))
    told = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"])
    assert "restarting" in told["content"]

    release.set()
    assert await asyncio.wait_for(drain, 30) == 0  # nothing left unfinished
    graded = await fake.wait_reply(submitted)
    assert "Key points" in embed_text(graded)
    attempts = await bot.progress.recent_attempts(str(ana.id))
    assert [a.question_id for a in attempts] == [entry.id]
    assert await bot.progress.recent_attempts(str(ben.id)) == []


async def test_a_second_signal_stops_the_waiting(fake, bot):
    stuck = asyncio.create_task(asyncio.sleep(3600))
    bot.track(stuck)
    drain = asyncio.create_task(bot.drain(timeout=60))
    await asyncio.sleep(0.05)
    assert not drain.done()
    bot.hurry()  # what the second SIGTERM / Ctrl-C does
    assert await asyncio.wait_for(drain, 5) == 1  # one action left unfinished
    stuck.cancel()


async def test_sigterm_finishes_the_grade_in_flight_and_exits_0(subprocess_env, kb, tmp_path):
    fake = await FakeDiscord().start()
    log = tmp_path / "bot.log"
    env = dict(subprocess_env, DISCORD_TOKEN=fake.token,
               GRADCHECK_DISCORD_API_BASE=fake.api_base,
               GRADCHECK_DISCORD_GATEWAY=fake.gateway_url, GRADCHECK_DEV_GUILD=str(fake.guild_id))
    proc = None
    try:
        with open(log, "wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "discord", cwd=ROOT, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        connected = asyncio.create_task(fake.connected(timeout=START_TIMEOUT))
        exited = asyncio.create_task(proc.wait())
        await asyncio.wait({connected, exited}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        assert connected.done(), f"exit {proc.returncode}: {log.read_text(errors='replace')}"
        connected.result()
        await fake.wait_until(lambda: fake.commands, 30)  # slash commands synced

        ana, ben = fake.add_user("ana"), fake.add_user("ben")
        question = await start_quiz(fake, ana, id="8.3.65")
        opened = await fake.press(ana, int(question["id"]), button(question, "answer"))
        assert (await fake.wait_callback(opened))["type"] == MODAL
        demo = await fake.slash(ben, "demo", {"name": "zero_init"})  # runs for a while
        submitted = await fake.submit(ana, opened, {"answer": GOOD_ANSWER_65})
        assert (await fake.wait_callback(submitted))["type"] == DEFER  # grading has started
        assert (await fake.wait_callback(demo))["type"] == DEFER
        proc.send_signal(signal.SIGTERM)

        code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        output = log.read_text(errors="replace")
        assert code == 0, output
        assert "SIGTERM: stopping" in output and "Traceback" not in output, output
        assert "action(s) in flight" in output, output  # it waited for the demo and the grade
        graded = await fake.wait_reply(submitted, timeout=1)  # finished before the exit
        assert "ana's answer" in embed_text(graded) and "8.3.65" in embed_text(graded)
        shown = await fake.wait_reply(demo, timeout=1)
        assert "Demo: zero_init" in embed_text(shown)
        assert not fake.unknown, fake.unknown

        store = await ProgressStore.open(env["GRADCHECK_DATABASE_URL"])  # closed cleanly
        try:
            attempts = await store.recent_attempts(str(ana.id))
        finally:
            await store.close()
        assert [a.question_id for a in attempts] == ["8.3.65"]
    finally:
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        await fake.stop()
