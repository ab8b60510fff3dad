"""The real Discord bot (discord.py, the real model, a real SQLite file) against the fake Discord
in tests/fake_discord.py. Each test plays users and checks what they would see."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.app.settings import Settings
from bot.frontends.discord.bot import GradcheckBot
from tests.fake_discord import (
    AUTOCOMPLETE_RESULT,
    EPHEMERAL,
    MESSAGE,
    MODAL,
    UPDATE,
    FakeDiscord,
)

GOOD_ANSWER_65 = (
    "If every weight starts at zero, all hidden units in a layer compute the same output and get "
    "the same gradient, so they stay identical forever: symmetry is never broken and the layer "
    "behaves like a single neuron. Random initialisation breaks that symmetry."
)


@contextlib.asynccontextmanager
async def serving(monkeypatch, **options):
    # The bot points discord.py's class-level URLs at the fake: put them back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    server = await FakeDiscord(**options).start()
    try:
        yield server
    finally:
        await server.stop()
    assert not server.unknown, f"the bot called routes the fake does not know: {server.unknown}"


@pytest.fixture
async def fake(monkeypatch):
    async with serving(monkeypatch) as server:
        yield server


class FastBot(GradcheckBot):
    async def before_identify_hook(self, shard_id, *, initial=False):
        pass  # the fake does not rate-limit IDENTIFY; Discord's 5 s spacing would only slow tests


def bot_settings(fake: FakeDiscord, tmp_path, **extra) -> Settings:
    options = {"data_dir": tmp_path, "discord_api_base": fake.api_base,
               "discord_gateway": fake.gateway_url, "dev_guild": fake.guild_id, **extra}
    return Settings(**options)


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, settings: Settings, runtime, **kwargs):
    # qotd_every=None: the tests post questions of the day by calling post_due with a fake clock.
    bot = FastBot(settings, runtime=runtime, guild_ready_timeout=0.05, qotd_every=None, **kwargs)
    task = asyncio.create_task(bot.start(fake.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # start() failed: raise why
        assert ready.done(), "the bot did not become ready"
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def bot(fake, tmp_path, runtime):
    async with running(fake, bot_settings(fake, tmp_path), runtime) as b:
        yield b


def buttons(message: dict) -> dict[str, dict]:
    """custom id -> button, for every button on a message."""
    return {c["custom_id"]: c for row in message["components"] for c in row["components"]
            if "custom_id" in c}


def button(message: dict, action: str) -> str:
    found = [cid for cid in buttons(message) if cid.split(":")[1:3] in (["q", action], [action])]
    assert found, f"no {action} button in {list(buttons(message))}"
    return found[0]


def embed_text(message: dict) -> str:
    parts = [message.get("content") or ""]
    for e in message["embeds"]:
        parts += [e.get("author", {}).get("name", ""), e.get("title", ""), e.get("description", ""),
                  e.get("footer", {}).get("text", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in e.get("fields", [])]
    return "\n".join(parts)


async def start_quiz(fake: FakeDiscord, user, **options) -> dict:
    it = await fake.slash(user, "quiz", options)
    cb = await fake.wait_callback(it)
    assert cb["type"] == MESSAGE, cb
    return fake.messages[it.original_id]


async def eventually(read, timeout: float = 5.0):
    """Poll an async read until it returns something truthy (work done after the reply)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await read()) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    return value


def question_id(message: dict) -> str:
    return button(message, "answer").split(":")[3]


# --- tests ------------------------------------------------------------------------------------


async def test_quiz_button_modal_graded_embed(fake, bot):
    alice = fake.add_user("alice")
    question = await start_quiz(fake, alice, topic="initialization")
    text = embed_text(question)
    qid = question_id(question)
    assert qid in text and "Difficulty" in text and "initialization" in text
    labels = [b["label"] for b in buttons(question).values()]
    assert labels == ["Answer", "Hint", "Reveal", "Skip", "Demo"]
    assert all(f":{alice.id}:" in cid for cid in buttons(question))  # the owner is in the id

    hint = await fake.press(alice, int(question["id"]), button(question, "hint"))
    cb = await fake.wait_callback(hint)
    assert cb["type"] == UPDATE and "Hint 1" in embed_text(fake.messages[int(question["id"])])

    opened = await fake.press(alice, int(question["id"]), button(question, "answer"))
    entry = bot.runtime.kb.entries[qid]
    submitted = await fake.submit(alice, opened, {"answer": " ".join(entry.key_point_texts)})
    graded = await fake.wait_reply(submitted)
    assert submitted.callback["type"] == 5  # deferred: grading may take a while
    text = embed_text(graded)
    assert f"✅ Correct · {qid}" in text and "alice's answer" in text
    assert re.search(r"`█+░*` \*\*\d+%\*\*", text)  # the score bar
    assert text.count("✓ ") == len(entry.key_points)
    assert any(cid == f"gc:ref:{qid}" for cid in buttons(graded))
    attempts = await bot.progress.recent_attempts(str(alice.id))
    assert [(a.question_id, a.hints_used) for a in attempts] == [(qid, 1)]

    shown = await fake.press(alice, int(graded["id"]), f"gc:ref:{qid}")
    reference = await fake.wait_reply(shown)
    assert reference["flags"] & EPHEMERAL  # the model answer, privately
    assert entry.reference_answer[:80] in embed_text(reference)
    related = [cid for cid in buttons(graded) if cid.startswith("gc:try:")]
    assert 1 <= len(related) <= 2
    nxt = await fake.press(alice, int(graded["id"]), related[0])
    assert question_id(await fake.wait_reply(nxt)) == related[0].split(":")[2]


async def test_answer_by_reply(fake, bot):
    bob = fake.add_user("bob")
    question = await start_quiz(fake, bob, topic="initialization")
    qid = question_id(question)
    wrong = bot.runtime.kb.entries[qid].misconceptions[0]
    said = await fake.say(bob, wrong.claim, reply_to=int(question["id"]))
    graded = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"]
    )
    assert graded["author"]["id"] == str(fake.bot.id)
    text = embed_text(graded)
    assert f"· {qid}" in text and "Key points" in text
    assert "Misconceptions" in text and f"**Correction:** {wrong.correction[:60]}" in text
    attempts = await bot.progress.recent_attempts(str(bob.id))
    assert [a.question_id for a in attempts] == [qid]
    assert attempts[0].seconds is not None  # timed from the question message
    # A message that is neither a reply to the bot nor a mention is left alone.
    await fake.say(bob, "unrelated chatter")
    await asyncio.sleep(0.3)
    assert len(fake.bot_messages_replying_to(int(said["id"]))) == 1


async def test_ask_answers_with_id_and_book_link_or_says_unsure(fake, bot):
    carol = fake.add_user("carol")
    it = await fake.slash(carol, "ask", {"question": "why shouldn't I initialize all the weights "
                                                     "to zero? @everyone"})
    answer = await fake.wait_reply(it)
    assert it.callback["type"] == 5  # deferred first: the answer takes a model call
    text = embed_text(answer)
    assert "8.3.65" in text and "huyenchip.com/ml-interviews-book" in text
    assert "gc:try:8.3.65" in buttons(answer)
    followup = next(r for r in fake.requests if r.path.startswith("/webhooks/"))
    assert followup.json["allowed_mentions"] == {"parse": []}  # the echoed @everyone pings no one

    it = await fake.slash(carol, "ask", {"question": "what is the best pizza topping in Naples?"})
    unsure = await fake.wait_reply(it)
    assert "not sure" in embed_text(unsure).lower()
    assert "Closest topics" in embed_text(unsure)
    assert 1 <= len([c for c in buttons(unsure) if c.startswith("gc:try:")]) <= 3


async def test_follow_up_by_mention_and_by_reply_to_a_graded_answer(fake, bot):
    dan = fake.add_user("dan")
    question = await start_quiz(fake, dan, topic="initialization")
    qid = question_id(question)
    said = await fake.say(dan, "why does that matter for training?", mention_bot=True)
    reply = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"]
    )
    assert f"Follow-up on {qid}" in embed_text(reply)  # the open question is the context

    answer = await fake.say(dan, GOOD_ANSWER_65, reply_to=int(question["id"]))
    graded = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == answer["id"]
    )
    asked = await fake.say(dan, "and what about biases, can those be zero?",
                           reply_to=int(graded["id"]))
    follow = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == asked["id"]
    )
    assert f"Follow-up on {qid}" in embed_text(follow)
    assert len(await bot.progress.recent_attempts(str(dan.id))) == 1  # a follow-up is no answer


async def test_demo_autocomplete_and_attachments(fake, bot):
    erin = fake.add_user("erin")
    it = await fake.autocomplete(erin, "demo", "name", "batch")
    cb = await fake.wait_callback(it)
    assert [c["value"] for c in cb["data"]["choices"]][:1] == ["batch_size"]

    it = await fake.slash(erin, "demo", {"name": "batch_size"})
    message = await fake.wait_reply(it, timeout=60)
    names = sorted(a["filename"] for a in message["attachments"])
    assert names == ["batch_size-output.txt", "batch_size.png", "batch_size.py"]
    upload = next(r for r in fake.requests if r.files)
    sizes = {f.filename: len(f.data) for f in upload.files}
    assert sizes["batch_size.png"] > 1000 and sizes["batch_size.py"] > 1000
    assert "self-check passed" in embed_text(message)

    it = await fake.slash(erin, "demo", {"name": "no_such_demo"})
    cb = await fake.wait_callback(it)
    assert cb["data"]["flags"] & EPHEMERAL and "Unknown demo" in cb["data"]["content"]


async def test_unknown_demo_points_at_the_list_not_at_a_shell_command(fake, bot):
    erin = fake.add_user("erin")
    cb = await fake.wait_callback(await fake.slash(erin, "demo", {"name": "batch_sise"}))
    text = cb["data"]["content"]
    assert cb["data"]["flags"] & EPHEMERAL and "Unknown demo 'batch_sise'" in text
    assert "gradcheck demo" not in text  # a Discord user has no shell here
    assert "`/demo batch_size`" in text and "`name` option" in text


async def test_help_names_every_quiz_option(fake, bot):
    gina = fake.add_user("gina")
    text = embed_text(await fake.wait_reply(await fake.slash(gina, "help")))
    options = [o["name"] for o in fake.command("quiz")["options"]]
    assert options == ["topic", "difficulty", "mode", "id"]
    assert "/quiz** `[topic] [difficulty] [mode] [id]`" in text
    for mode in ("new", "review", "weak", "cram"):
        assert mode in text
    assert "/qotd show" in text


async def test_quiz_by_id_with_autocomplete(fake, bot):
    lee = fake.add_user("lee")
    cb = await fake.wait_callback(await fake.autocomplete(lee, "quiz", "id", "8.3.45"))
    assert cb["type"] == AUTOCOMPLETE_RESULT
    assert [c["value"] for c in cb["data"]["choices"]][:1] == ["8.3.45"]
    assert all(len(c["name"]) <= 100 for c in cb["data"]["choices"])
    cb = await fake.wait_callback(await fake.autocomplete(lee, "quiz", "id", "skip connection"))
    assert "8.3.45" in [c["value"] for c in cb["data"]["choices"]]  # searches the questions too
    cb = await fake.wait_callback(await fake.autocomplete(lee, "quiz", "id", ""))
    assert len(cb["data"]["choices"]) == 25  # Discord's most

    question = await start_quiz(fake, lee, id="8.3.45")
    assert question_id(question) == "8.3.45"
    again = await start_quiz(fake, lee, id="8.3.45", mode="cram")  # with the other options
    assert question_id(again) == "8.3.45"
    group = await start_quiz(fake, lee, id="8.3.46")  # a group's id: one of its sub-questions
    assert question_id(group).startswith("8.3.46.")

    cb = await fake.wait_callback(await fake.slash(lee, "quiz", {"id": "8.3.99"}))
    text = cb["data"]["content"]
    assert cb["data"]["flags"] & EPHEMERAL and "Unknown question id '8.3.99'" in text
    assert "`id` option" in text


async def test_qotd_show_is_for_everyone_set_and_off_need_manage_server(fake, bot):
    member = fake.add_user("member")
    # Not hidden from members: Discord would hide the whole /qotd group otherwise.
    assert fake.command("qotd").get("default_member_permissions") is None
    shown = await fake.wait_callback(await fake.slash(member, "qotd", sub="show"))
    assert shown["data"]["flags"] & EPHEMERAL
    assert "No question of the day here yet" in shown["data"]["content"]
    refused = await fake.wait_callback(await fake.slash(member, "qotd", sub="off"))
    assert refused["data"]["content"] == (
        "Only members with the Manage Server permission can use /qotd off."
    )


async def test_buttons_refuse_someone_else_privately(fake, bot):
    owner, other = fake.add_user("owner"), fake.add_user("mallory")
    question = await start_quiz(fake, owner)
    before = embed_text(question)
    for action in ("hint", "answer", "skip"):
        it = await fake.press(other, int(question["id"]), button(question, action))
        cb = await fake.wait_callback(it)
        assert cb["type"] == MESSAGE and cb["data"]["flags"] & EPHEMERAL
        assert "start your own with `/quiz`" in cb["data"]["content"]
    assert embed_text(fake.messages[int(question["id"])]) == before  # nothing changed


async def test_qotd_needs_manage_server_then_posts_daily_with_a_thread(fake, bot):
    member, admin = fake.add_user("member"), fake.add_user("admin", admin=True)
    channel = {str(fake.channel_id): dict(fake.channels[fake.channel_id], permissions="0")}
    options = {"channel": str(fake.channel_id), "time": "09:30"}
    it = await fake.slash(member, "qotd", options, sub="set", resolved={"channels": channel})
    cb = await fake.wait_callback(it)
    assert cb["data"]["flags"] & EPHEMERAL
    assert cb["data"]["content"] == "Only members with the Manage Server permission can use /qotd set."
    assert await bot.qotd_store.get(fake.guild_id) is None

    it = await fake.slash(admin, "qotd", options, sub="set", resolved={"channels": channel})
    cb = await fake.wait_callback(it)
    assert "09:30 UTC" in cb["data"]["content"], cb
    from datetime import UTC, datetime

    qotd = bot.get_cog("Qotd")
    assert await qotd.post_due(datetime(2030, 1, 7, 9, 0, tzinfo=UTC)) == []  # not yet
    assert await qotd.post_due(datetime(2030, 1, 7, 9, 31, tzinfo=UTC)) == [fake.guild_id]
    assert await qotd.post_due(datetime(2030, 1, 7, 18, 0, tzinfo=UTC)) == []  # once a day
    post = await fake.wait_message(
        lambda m: any(e.get("title", "").startswith("Question of the day") for e in m["embeds"])
    )
    thread_id = int(post["id"])
    assert fake.channels[thread_id]["type"] == 11  # a thread of answers

    said = await fake.say(member, GOOD_ANSWER_65, channel_id=thread_id)
    graded = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"]
    )
    assert graded["channel_id"] == str(thread_id) and "Key points" in embed_text(graded)

    opened = await fake.press(admin, int(post["id"]), button(post, "answer"))  # anyone may
    submitted = await fake.submit(admin, opened, {"answer": GOOD_ANSWER_65})
    private = await fake.wait_reply(submitted)
    assert private["flags"] & EPHEMERAL and "thread" in private["content"]
    in_thread = [m for m in fake.messages.values()
                 if m["channel_id"] == str(thread_id) and "admin's answer" in embed_text(m)]
    assert len(in_thread) == 1


async def test_restart_keeps_buttons_modals_and_qotd(monkeypatch, tmp_path, runtime):
    async with serving(monkeypatch) as fake:
        settings = bot_settings(fake, tmp_path)
        frank, admin = fake.add_user("frank"), fake.add_user("admin", admin=True)
        async with running(fake, settings, runtime) as first:
            question = await start_quiz(fake, frank)
            opened = await fake.press(frank, int(question["id"]), button(question, "answer"))
            await fake.wait_callback(opened)  # the modal is open in frank's client...
            channel = {str(fake.channel_id): dict(fake.channels[fake.channel_id], permissions="0")}
            it = await fake.slash(admin, "qotd", {"channel": str(fake.channel_id), "time": "7:00"},
                                  sub="set", resolved={"channels": channel})
            await fake.wait_callback(it)
            assert first.is_ready()
        async with running(fake, settings, runtime) as second:  # ...across a restart
            assert second is not first and len(fake.identified) == 2
            hint = await fake.press(frank, int(question["id"]), button(question, "hint"))
            assert (await fake.wait_callback(hint))["type"] == UPDATE
            submitted = await fake.submit(frank, opened, {"answer": GOOD_ANSWER_65})
            graded = await fake.wait_reply(submitted)
            assert "Key points" in embed_text(graded)
            again = await fake.press(frank, int(question["id"]), button(question, "answer"))
            assert (await fake.wait_callback(again))["type"] == MODAL
            from datetime import UTC, datetime

            now = datetime(2030, 1, 7, 7, 5, tzinfo=UTC)
            assert await second.get_cog("Qotd").post_due(now) == [fake.guild_id]


async def test_twenty_users_answer_at_once_on_two_shards(monkeypatch, tmp_path, runtime):
    async with serving(monkeypatch, shards=2, guilds=2) as fake:
        settings = bot_settings(fake, tmp_path, dev_guild=None)  # global commands
        async with running(fake, settings, runtime) as bot:
            assert bot.shard_count == 2 and len(bot.guilds) == 2
            assert None in fake.commands  # synced globally
            users = [fake.add_user(f"user{i}") for i in range(20)]
            guilds = list(fake.guilds)
            questions = []
            for i, user in enumerate(users):
                it = await fake.slash(user, "quiz", guild_id=guilds[i % 2])
                await fake.wait_callback(it)
                questions.append(fake.messages[it.original_id])
            opened = await asyncio.gather(*(
                fake.press(u, int(q["id"]), button(q, "answer")) for u, q in zip(users, questions, strict=True)
            ))
            await asyncio.gather(*(fake.wait_callback(o) for o in opened))
            batches_before = bot.service.batches
            answers = {}
            for user, question in zip(users, questions, strict=True):
                entry = bot.runtime.kb.entries[question_id(question)]
                answers[user.id] = entry.key_point_texts[0]  # one sentence: keeps the encode short
            submitted = await asyncio.gather(*(
                fake.submit(u, o, {"answer": answers[u.id]}) for u, o in zip(users, opened, strict=True)
            ))
            graded = await asyncio.gather(*(fake.wait_reply(s, timeout=60) for s in submitted))
            for user, question, reply in zip(users, questions, graded, strict=True):
                assert f"· {question_id(question)}" in embed_text(reply)
                assert f"{user.name}'s answer" in embed_text(reply)
            model_calls = bot.service.batches - batches_before
            assert 1 <= model_calls < 20, f"{model_calls} model calls for 20 answers"
            board = await bot.progress.leaderboard(str(guilds[0]))
            assert len(board) == 10  # half the users answered in each server


async def test_progress_commands_and_forgetme(fake, bot):
    gina, other = fake.add_user("gina"), fake.add_user("hal")
    question = await start_quiz(fake, gina)
    said = await fake.say(gina, GOOD_ANSWER_65, reply_to=int(question["id"]))
    await fake.wait_message(lambda m: m.get("message_reference", {}).get("message_id") == said["id"])

    stats = await fake.wait_reply(await fake.slash(gina, "stats"))
    assert stats["flags"] & EPHEMERAL and "Readiness" in embed_text(stats)
    assert "1 (" in embed_text(stats)  # one answer
    board = await fake.wait_reply(await fake.slash(gina, "leaderboard"))
    assert "This week" in embed_text(board) and f"<@{gina.id}>" in embed_text(board)
    review = await fake.wait_reply(await fake.slash(gina, "review"))
    assert review["flags"] & EPHEMERAL and "review" in embed_text(review).lower()
    topics = await fake.wait_reply(await fake.slash(gina, "topics"))
    assert "initialization" in embed_text(topics)
    help_ = await fake.wait_reply(await fake.slash(gina, "help"))
    assert "/quiz" in embed_text(help_) and "/forgetme" in embed_text(help_)

    it = await fake.slash(gina, "forgetme")
    prompt = await fake.wait_reply(it)
    confirm = next(cid for cid, b in buttons(prompt).items() if b["label"] == "Delete everything")
    refused = await fake.press(other, int(prompt["id"]), confirm)
    assert "isn't for you" in (await fake.wait_callback(refused))["data"]["content"]
    await fake.wait_callback(await fake.press(gina, int(prompt["id"]), confirm))
    done = await fake.wait_message(lambda m: m["id"] == prompt["id"] and "Done" in m["content"])
    assert "deleted 1 answer and 1 review schedule" in done["content"]
    assert await bot.progress.recent_attempts(str(gina.id)) == []


async def test_rate_limit_is_friendly(fake, bot):
    from bot.frontends.discord.logic import RateLimiter

    bot.limiter = RateLimiter(2, 60.0)
    ivy = fake.add_user("ivy")
    for _ in range(2):
        await fake.wait_reply(await fake.slash(ivy, "help"))
    cb = await fake.wait_callback(await fake.slash(ivy, "help"))
    assert cb["data"]["flags"] & EPHEMERAL and "Easy there" in cb["data"]["content"]
    said = await fake.say(ivy, "what is weight decay?", mention_bot=True)
    slow = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"]
    )
    assert "try again in" in slow["content"]


async def test_one_error_handler_replies_privately_and_logs(fake, bot, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.progress, "stats", broken)
    jay = fake.add_user("jay")
    with caplog.at_level(logging.ERROR, logger="gradcheck.discord"):
        reply = await fake.wait_reply(await fake.slash(jay, "stats"))
    assert reply["flags"] & EPHEMERAL and "went wrong on my side" in reply["content"]
    assert "disk on fire" not in reply["content"]
    line = next(r for r in caplog.records if "disk on fire" in r.getMessage())
    assert "/stats" in line.getMessage() and str(jay.id) in line.getMessage()


async def test_missing_or_rejected_token_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    from bot.frontends.discord.bot import run_discord

    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert run_discord(Settings(data_dir=tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN is not set" in err

    async with serving(monkeypatch) as fake:
        monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")
        settings = Settings(data_dir=tmp_path, discord_api_base=fake.api_base,
                            discord_gateway=fake.gateway_url)
        code = await asyncio.to_thread(run_discord, settings)
        assert code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "rejected DISCORD_TOKEN" in err and "Traceback" not in err
        assert [r.path for r in fake.requests] == ["/users/@me"]  # failed before loading anything


async def test_refused_message_content_intent_is_one_line_exit_2(
    monkeypatch, tmp_path, capsys, runtime
):
    from bot.frontends.discord.bot import run_discord

    async with serving(monkeypatch, message_content_allowed=False) as fake:
        monkeypatch.setenv("DISCORD_TOKEN", fake.token)
        settings = Settings(data_dir=tmp_path, discord_api_base=fake.api_base,
                            discord_gateway=fake.gateway_url, dev_guild=fake.guild_id)
        code = await asyncio.to_thread(run_discord, settings, runtime)
        assert code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Message Content intent" in err


def test_demo_links_use_the_base_url_when_set():
    from bot.frontends.discord.embeds import demo_line

    assert demo_line(["batch_size"], "https://example.org/demos/") == (
        "[batch_size](https://example.org/demos/batch_size.py)"
    )
    assert demo_line(["batch_size"], None) == "`/demo batch_size`"
    assert demo_line([], None) is None


async def test_owner_hint_skip_and_reveal(fake, bot):
    kim = fake.add_user("kim")
    question = await start_quiz(fake, kim, topic="initialization")
    mid = int(question["id"])
    first = question_id(question)
    await fake.wait_callback(await fake.press(kim, mid, button(question, "hint")))
    question = fake.messages[mid]
    assert "Hint 1" in embed_text(question) and "best score is now" in embed_text(question)
    assert button(question, "answer").endswith(":1")  # the hint count travels in the button

    await fake.wait_callback(await fake.press(kim, mid, button(question, "skip")))
    question = fake.messages[mid]
    assert question_id(question) != first and button(question, "answer").endswith(":0")

    await fake.wait_callback(await fake.press(kim, mid, button(question, "reveal")))
    question = fake.messages[mid]
    assert "Reference answer" in embed_text(question)
    assert buttons(question)[button(question, "answer")].get("disabled") is True
    # Seeing the answer is not recalling it: recorded as a miss, so it comes back soon.
    attempts = await eventually(lambda: bot.progress.recent_attempts(str(kim.id)))
    assert [(a.question_id, a.verdict, a.score) for a in attempts] == [
        (question_id(question), "incorrect", 0.0)
    ]


async def test_a_reply_to_a_graded_answer_is_about_its_question(fake, bot):
    mo = fake.add_user("mo")
    question = await start_quiz(fake, mo, id="8.3.45")
    entry = bot.runtime.kb.entries["8.3.45"]
    said = await fake.say(mo, " ".join(entry.key_point_texts), reply_to=int(question["id"]))
    graded = await fake.wait_message(
        lambda m: m.get("message_reference", {}).get("message_id") == said["id"])

    async def follow_up(text: str) -> str:
        asked = await fake.say(mo, text, reply_to=int(graded["id"]))
        reply = await fake.wait_message(
            lambda m: m.get("message_reference", {}).get("message_id") == asked["id"])
        return embed_text(reply)

    about = await follow_up("what does the backward pass through the shortcut look like?")
    assert "Follow-up on 8.3.45" in about and "From 8.3.45" in about
    elsewhere = await follow_up("does that also help with sparse gradients?")
    assert "Follow-up on 8.3.45" in elsewhere
    assert "The notes on 8.3.45 don't cover that; 8.3.59 does." in elsewhere
    assert len(await bot.progress.recent_attempts(str(mo.id))) == 1  # follow-ups are no answers
