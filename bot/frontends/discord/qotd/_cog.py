"""Question of the day: /qotd set|off|show, a once-a-minute check, and the daily post + thread.

The schedule lives in the database (QotdStore), so it survives restarts; each post's thread id is
stored too, and every message in today's thread is graded as an answer (see quiz/_replies.py).
Only the process whose shards hold a server posts for it, so several shard processes never
post twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.frontends.discord.embeds import question_embed
from bot.frontends.discord.logic import ANYONE, QuizRef, clip
from bot.frontends.discord.views import QuizButton
from bot.storage.qotd import QotdSchedule
from bot.tutor.qotd import next_post, parse_post_time, qotd_due

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

log = logging.getLogger("gradcheck.discord")


# No default_permissions on the group: Discord applies it to the whole /qotd command, which would
# hide `show` from ordinary members too (subcommands cannot carry their own). `set` and `off`
# check Manage Server themselves.
@app_commands.guild_only()
class Qotd(commands.GroupCog, group_name="qotd", group_description="Question of the day"):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.qotd_threads.update(
            {s.thread_id: s.question_id for s in await self.bot.qotd_store.all()
             if s.thread_id and s.question_id}
        )
        if self.bot.qotd_every:
            self.bot.timers.every("qotd", self.bot.qotd_every, self.tick,
                                  first=self.bot.wait_until_ready)

    async def cog_unload(self) -> None:
        await self.bot.timers.stop("qotd")

    # --- commands: anyone may `show`; `set` and `off` need Manage Server, and a refusal says so --

    @app_commands.command(name="set", description="Post a question every day in a channel")
    @app_commands.describe(channel="Where to post", time="When, in UTC, as HH:MM (e.g. 09:00)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def set_(
        self, interaction: discord.Interaction, channel: discord.TextChannel, time: str
    ) -> None:
        hour, minute = parse_post_time(time)
        assert interaction.guild_id is not None
        schedule = await self.bot.qotd_store.set(interaction.guild_id, channel.id, hour, minute)
        when = next_post(hour, minute, schedule.last_posted_at, datetime.now(UTC))
        await interaction.response.send_message(
            f"Question of the day: {channel.mention} at {schedule.time_text}, "
            f"next one <t:{int(when.timestamp())}:R>.",
            ephemeral=True,
        )

    @app_commands.command(name="off", description="Stop the question of the day")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def off(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        gone = await self.bot.qotd_store.disable(interaction.guild_id)
        await interaction.response.send_message(
            "Question of the day stopped." if gone else "There was no question of the day set.",
            ephemeral=True,
        )

    @app_commands.command(name="show", description="Where and when the question of the day is posted")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        s = await self.bot.qotd_store.get(interaction.guild_id)
        text = (
            f"Question of the day: <#{s.channel_id}> at {s.time_text}."
            if s else "No question of the day here yet: an admin can start one with `/qotd set`."
        )
        await interaction.response.send_message(text, ephemeral=True)

    # --- posting ------------------------------------------------------------------------------

    async def tick(self) -> None:
        """The timer's check (every `qotd_every` seconds): post what is due."""
        await self.post_due(datetime.now(UTC))

    async def post_due(self, now: datetime) -> list[int]:
        """Post every due question of the day this process is responsible for; guild ids posted."""
        posted = []
        for schedule in await self.bot.qotd_store.all():
            if self.bot.get_guild(schedule.guild_id) is None:
                continue  # another shard process's server, or the bot left it
            if not qotd_due(schedule.hour, schedule.minute, schedule.last_posted_at, now):
                continue
            try:
                await self.post(schedule, now)
                posted.append(schedule.guild_id)
            except discord.HTTPException as exc:
                log.warning("question of the day for guild %s channel %s failed: %s",
                            schedule.guild_id, schedule.channel_id, exc)
        return posted

    async def post(self, schedule: QotdSchedule, now: datetime) -> None:
        kb = self.bot.kb
        entry = self.bot.chooser.of_the_day(now.date(), schedule.guild_id, schedule.question_id)
        qid = entry.id
        channel = self.bot.get_channel(schedule.channel_id) or await self.bot.fetch_channel(
            schedule.channel_id
        )
        embed = question_embed(
            entry, kb.groups.get(entry.parent or ""),
            title=f"Question of the day · {now:%A %d %B}",
            footer="Answer in the thread: every message there is graded. Or press Answer.",
        )
        view = discord.ui.View(timeout=None)
        view.add_item(QuizButton("answer", QuizRef(qid, ANYONE)))
        message = await channel.send(embed=embed, view=view)  # type: ignore[union-attr]
        thread = await message.create_thread(
            name=clip(f"Answers {now:%Y-%m-%d} · {qid}", 100), auto_archive_duration=1440
        )
        await self.bot.qotd_store.mark_posted(schedule.guild_id, qid, thread.id, now)
        if schedule.thread_id:
            self.bot.qotd_threads.pop(schedule.thread_id, None)  # yesterday's thread is closed
        self.bot.qotd_threads[thread.id] = qid
        log.info("posted question of the day %s in guild %s", qid, schedule.guild_id)
