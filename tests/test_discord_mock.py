"""Mock-interview nights through the real bot against the fake Discord, with several users."""

from __future__ import annotations

import asyncio
import time

from bot.app import metrics
from bot.storage.mock import MockStore
from tests import test_discord
from tests.fake_discord import EPHEMERAL, MODAL, UPDATE, FakeDiscord
from tests.test_discord import bot_settings, buttons, embed_text, running, serving

fake, bot = test_discord.fake, test_discord.bot  # the same fixtures: a fake Discord, a bot on it


def fast(bot) -> None:
    cog = bot.get_cog("Mock")
    cog.refresh_after = 0.05  # show "who answered" at once; real nights coalesce over 2 s
    return cog


async def open_night(fake: FakeDiscord, host, **options) -> tuple[int, dict]:
    it = await fake.slash(host, "mock", options, sub="start")
    lobby = await fake.wait_reply(it)
    assert buttons(lobby), lobby
    night_id = int(next(iter(buttons(lobby))).split(":")[3])
    await fake.wait_until(lambda: int(lobby["id"]) in fake.channels)  # its thread
    return night_id, lobby


async def press(fake: FakeDiscord, user, message: dict, action: str) -> dict:
    cid = next(c for c in buttons(fake.messages[int(message["id"])]) if c.split(":")[2] == action)
    return await fake.wait_callback(await fake.press(user, int(message["id"]), cid))


async def round_message(fake: FakeDiscord, lobby: dict, number: int) -> dict:
    return await fake.wait_message(lambda m: m["channel_id"] == lobby["id"]
                                   and f"Round {number} of" in embed_text(m))


async def reveal(fake: FakeDiscord, lobby: dict, number: int, timeout: float = 30) -> dict:
    return await fake.wait_message(lambda m: m["channel_id"] == lobby["id"]
                                   and f"Round {number} results" in embed_text(m), timeout)


async def answer(fake: FakeDiscord, user, message: dict, text: str) -> dict:
    cid = next(c for c in buttons(fake.messages[int(message["id"])]) if ":answer:" in c)
    opened = await fake.press(user, int(message["id"]), cid)
    submitted = await fake.submit(user, opened, {"answer": text})
    return await fake.wait_callback(submitted)


def qid_of(message: dict) -> str:
    return message["embeds"][0]["title"].split("· ")[-1]


def thread_text(fake: FakeDiscord, lobby: dict) -> str:
    return "\n".join(embed_text(m) for m in fake.messages.values()
                     if m["channel_id"] in (lobby["id"], lobby["channel_id"]))


async def test_full_night_of_three_rounds_answers_hidden_until_the_reveal(fake, bot):
    fast(bot)
    host = fake.add_user("host", admin=True)
    ana, ben, cy = (fake.add_user(n) for n in ("ana", "ben", "cy"))
    night_id, lobby = await open_night(fake, host, rounds=3, seconds=120)
    assert fake.channels[int(lobby["id"])]["type"] == 11  # the night runs in a thread
    for user in (ana, ben, cy):
        await press(fake, user, lobby, "join")
    assert "Participants (3)" in embed_text(fake.messages[int(lobby["id"])])
    assert metrics.ACTIVE_SESSIONS.samples() == ["gradcheck_active_sessions 1"]
    kb = bot.runtime.kb
    secrets = []
    for number in (1, 2, 3):
        if number == 1:
            await press(fake, host, lobby, "start")
        rnd = await round_message(fake, lobby, number)
        entry = kb.entries[qid_of(rnd)]
        good = " ".join(entry.key_point_texts) + f" secret-ana-{number}"
        wrong = entry.misconceptions[0].claim + f" secret-ben-{number}"
        secrets += [f"secret-ana-{number}", f"secret-ben-{number}"]
        got = await answer(fake, ana, rnd, good)
        assert got["data"]["flags"] & EPHEMERAL and "hidden until the reveal" in got["data"]["content"]
        await fake.wait_until(lambda rnd=rnd: "Answered (1/3)" in embed_text(
            fake.messages[int(rnd["id"])]))
        shown = embed_text(fake.messages[int(rnd["id"])])
        assert f"<@{ana.id}>" in shown and "secret" not in shown  # who answered, not what
        await answer(fake, ben, rnd, wrong)
        if number < 3:
            await answer(fake, cy, rnd, "no idea" + f" secret-cy-{number}")
        else:  # cy sits the last one out: the round waits for its deadline
            await asyncio.sleep(0.3)
            assert "Round 3 results" not in thread_text(fake, lobby)
            night = bot.get_cog("Mock").nights[night_id]
            night.deadline = night.current.deadline = time.time()  # as if 120 s went by
            bot.get_cog("Mock").poke(night_id)
        result = await reveal(fake, lobby, number)
        text = embed_text(result)
        assert entry.reference_answer[:60] in text
        lines = [ln for ln in result["embeds"][0]["description"].splitlines() if ln[:1].isdigit()]
        assert lines[0].startswith(f"1. <@{ana.id}> ✅")  # best answer first
        if number == 3:
            assert f"No answer: <@{cy.id}>" in text
        else:
            await press(fake, host, result, "next")
    final = await fake.wait_message(lambda m: m["channel_id"] == lobby["id"]
                                    and "Final scoreboard" in embed_text(m))
    text = embed_text(final)
    assert text.index(f"<@{ana.id}>") < text.index(f"<@{ben.id}>")
    assert "🥇" in text and "`/review`" in text and "Weak topics" in text
    everything = "\n".join(embed_text(m) + str(m["components"]) for m in fake.messages.values())
    assert not any(s in everything for s in secrets)  # answers never shown to the channel
    assert len(await bot.progress.recent_attempts(str(ana.id))) == 3  # counts for /review

    hist = await fake.wait_reply(await fake.slash(ana, "mock", sub="history"))
    assert hist["flags"] & EPHEMERAL and f"#{night_id}" in embed_text(hist)
    assert f"winner <@{ana.id}>" in embed_text(hist)


async def test_non_host_is_refused_with_the_reason(fake, bot):
    member, host = fake.add_user("member"), fake.add_user("host", admin=True)
    cb = await fake.wait_callback(await fake.slash(member, "mock", {"rounds": 1}, sub="start"))
    assert cb["data"]["flags"] & EPHEMERAL
    assert "Manage Events or Manage Server" in cb["data"]["content"]
    _, lobby = await open_night(fake, host, rounds=1)
    await press(fake, member, lobby, "join")
    refused = await press(fake, member, lobby, "start")
    assert refused["data"]["flags"] & EPHEMERAL
    assert "Only the host" in refused["data"]["content"]


async def test_leaving_mid_round_does_not_break_the_night(fake, bot):
    fast(bot)
    host = fake.add_user("host", admin=True)
    ana, ben, cy = (fake.add_user(n) for n in ("ana", "ben", "cy"))
    _, lobby = await open_night(fake, host, rounds=2)
    for user in (ana, ben, cy):
        await press(fake, user, lobby, "join")
    await press(fake, host, lobby, "start")
    rnd = await round_message(fake, lobby, 1)
    await answer(fake, ana, rnd, "some answer")
    await press(fake, ben, lobby, "leave")  # ben goes without answering
    await answer(fake, cy, rnd, "another answer")
    result = await reveal(fake, lobby, 1)  # everyone still here answered: no waiting
    text = embed_text(result)
    assert f"<@{ana.id}>" in text and f"<@{cy.id}>" in text and f"<@{ben.id}>" not in text
    await press(fake, host, result, "next")
    assert await round_message(fake, lobby, 2)


async def test_restart_mid_round_resumes_and_a_past_deadline_reveals(monkeypatch, tmp_path,
                                                                     runtime):
    async with serving(monkeypatch) as fake:
        settings = bot_settings(fake, tmp_path)
        host = fake.add_user("host", admin=True)
        ana, ben = fake.add_user("ana"), fake.add_user("ben")
        async with running(fake, settings, runtime) as first:
            fast(first)
            night_id, lobby = await open_night(fake, host, rounds=2, seconds=300)
            for user in (ana, ben):
                await press(fake, user, lobby, "join")
            await press(fake, host, lobby, "start")
            rnd = await round_message(fake, lobby, 1)
            await answer(fake, ana, rnd, "before the restart")
        async with running(fake, settings, runtime) as second:  # same database
            fast(second)
            await fake.wait_message(lambda m: "I restarted" in m["content"])
            got = await answer(fake, ben, rnd, "after the restart")  # the old button works
            assert "hidden until the reveal" in got["data"]["content"]
            result = await reveal(fake, lobby, 1)
            text = embed_text(result)
            assert f"<@{ana.id}>" in text and f"<@{ben.id}>" in text  # nothing lost
            await press(fake, host, result, "next")
            await round_message(fake, lobby, 2)
        store = await MockStore.open(settings.resolved_database_url)
        try:  # the bot is down while round 2's time runs out
            night = await store.load(night_id)
            assert night.state == "open" and len(night.rounds) == 2
            assert night.rounds[0].answers.keys() == {ana.id, ben.id}
            assert all(a.graded for a in night.rounds[0].answers.values())
            night.deadline = night.current.deadline = time.time() - 5
            await store.save(night)
        finally:
            await store.close()
        async with running(fake, settings, runtime):
            await reveal(fake, lobby, 2)  # closed from the stored deadline, then the end
            await fake.wait_message(lambda m: "Final scoreboard" in embed_text(m))


async def test_fifty_simultaneous_answers_are_all_scored(fake, bot):
    cog = fast(bot)
    cog.refresh_after = 1.0
    host = fake.add_user("host", admin=True)
    users = [fake.add_user(f"p{i}") for i in range(50)]
    night_id, lobby = await open_night(fake, host, rounds=1, seconds=300)
    joined = await asyncio.gather(*(press(fake, u, lobby, "join") for u in users))
    assert all(cb["type"] == UPDATE for cb in joined), [c for c in joined if c["type"] != UPDATE][:1]
    assert len(cog.nights[night_id].present) == 50
    await press(fake, host, lobby, "start")
    rnd = await round_message(fake, lobby, 1)
    entry = bot.runtime.kb.entries[qid_of(rnd)]
    cid = next(c for c in buttons(rnd) if ":answer:" in c)
    opened = await asyncio.gather(*(fake.press(u, int(rnd["id"]), cid) for u in users))
    modals = await asyncio.gather(*(fake.wait_callback(o) for o in opened))
    assert all(cb["type"] == MODAL for cb in modals)
    before = bot.service.batches
    submitted = await asyncio.gather(*(
        fake.submit(u, o, {"answer": entry.key_point_texts[i % len(entry.key_points)]})
        for i, (u, o) in enumerate(zip(users, opened, strict=True))))
    callbacks = await asyncio.gather(*(fake.wait_callback(s, timeout=60) for s in submitted))
    assert all("hidden until the reveal" in c["data"]["content"] for c in callbacks)
    result = await reveal(fake, lobby, 1, timeout=60)
    ranked = [ln for ln in result["embeds"][0]["description"].splitlines() if ln[:1].isdigit()]
    assert len(ranked) == 50
    assert 1 <= bot.service.batches - before < 50  # graded in batches, not one by one
    night = await cog.store.load(night_id)
    answers = night.rounds[0].answers
    assert len(answers) == 50 and all(a.graded for a in answers.values())



async def test_interviewer_mode_marks_sit_beside_the_grade_in_the_scorecard(fake, bot):
    cog = fast(bot)
    host = fake.add_user("host", admin=True)
    ana, ben = fake.add_user("ana"), fake.add_user("ben")
    night_id, lobby = await open_night(fake, host, rounds=2)
    for user in (ana, ben):
        await press(fake, user, lobby, "join")
    it = await fake.slash(ana, "mock", sub="pairs")
    refused = await fake.wait_callback(it)
    assert "Only the host" in refused["data"]["content"]
    paired = await fake.wait_reply(await fake.slash(host, "mock", sub="pairs"))
    assert f"<@{ana.id}> interviews <@{ben.id}>" in embed_text(paired)
    await press(fake, host, lobby, "start")
    rnd = await round_message(fake, lobby, 1)
    entry = bot.runtime.kb.entries[qid_of(rnd)]

    not_for_you = await press(fake, ben, paired, "brief")
    assert "for interviewers" in not_for_you["data"]["content"]
    await press(fake, ana, paired, "brief")
    brief = next(m for m in reversed(list(fake.messages.values()))
                 if m["flags"] & EPHEMERAL and "Interviewer brief" in embed_text(m))
    text = embed_text(brief)
    assert entry.key_point_texts[0][:40] in text and entry.hints[0][:40] in text
    assert "hasn't answered yet" in text

    await answer(fake, ben, rnd, " ".join(entry.key_point_texts[:2]))  # only the candidate answers
    result = await reveal(fake, lobby, 1)
    assert f"<@{ben.id}>" in embed_text(result) and f"<@{ana.id}>" not in embed_text(result)
    n = len(entry.key_points)
    for i in range(n):  # ana marks the first two covered, the rest missed
        mark = f"gc:mk:{night_id}:1:{ben.id}:{i}:{int(i < 2)}"
        brief = fake.messages[int(brief["id"])]
        if i == 0:
            refused = await fake.wait_callback(await fake.press(ben, int(brief["id"]), mark))
            assert "Only this candidate's interviewer" in refused["data"]["content"]
        await fake.wait_callback(await fake.press(ana, int(brief["id"]), mark))
    assert "✓" in embed_text(fake.messages[int(brief["id"])])
    stored = await cog.store.load(night_id)
    assert stored.rounds[0].answers[ben.id].marks == tuple(i < 2 for i in range(n))

    await press(fake, host, result, "end")
    final = await fake.wait_message(lambda m: "Final scoreboard" in embed_text(m))
    text = embed_text(final)
    assert "Scorecard" in text
    assert f"<@{ben.id}> round 1: interviewer <@{ana.id}> 2/{n} · grader " in text


async def test_ending_during_an_unanswered_round_promises_no_review(fake, bot):
    cog = fast(bot)
    host = fake.add_user("host", admin=True)
    ana, ben = fake.add_user("ana"), fake.add_user("ben")
    night_id, lobby = await open_night(fake, host, rounds=2, seconds=300)
    await press(fake, ana, lobby, "join")
    await press(fake, host, lobby, "start")
    first = await round_message(fake, lobby, 1)
    entry = bot.runtime.kb.entries[qid_of(first)]
    await answer(fake, ana, first, " ".join(entry.key_point_texts))  # ana answers, fully
    result = await reveal(fake, lobby, 1)
    await press(fake, ben, lobby, "join")  # ben joins late and never answers
    await press(fake, host, result, "next")
    second = await round_message(fake, lobby, 2)
    unanswered = qid_of(second)
    await press(fake, host, second, "end")  # nobody answered round 2
    final = await fake.wait_message(lambda m: "Final scoreboard" in embed_text(m))
    field = next(f["value"] for f in final["embeds"][0]["fields"]
                 if f["name"].startswith("Weak topics"))
    assert unanswered not in field  # nothing was stored for it: no weakness, no review
    lines = {u.id: next(ln for ln in field.splitlines() if ln.startswith(f"<@{u.id}>"))
             for u in (ana, ben)}
    assert lines[ben.id] == f"<@{ben.id}>: no answers tonight, nothing to review"
    promised = lines[ana.id].split("brings back ")[1].split(", ") if "brings back" in \
        lines[ana.id] else []
    scheduled = await bot.progress.seen_question_ids(str(ana.id))
    assert set(promised) <= scheduled == {entry.id}  # only what /review can bring back
    review = await fake.wait_reply(await fake.slash(ana, "review"))
    assert unanswered not in embed_text(review)
    assert cog.nights.get(night_id) is None
