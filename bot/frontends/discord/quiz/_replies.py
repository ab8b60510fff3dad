"""Answers and follow-up questions by message: a reply to a question message is an answer, a
reply to a graded answer (or a mention) a follow-up question; in a question-of-the-day thread
every message is an answer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.frontends.discord.embeds import ask_embed
from bot.frontends.discord.logic import ANYONE, QuizRef, clip, message_role, strip_mention
from bot.frontends.discord.quiz._desk import QuizDesk, custom_ids
from bot.frontends.discord.views import ask_view
from knowledge.loader import KnowledgeBase

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


class Replies(commands.Cog):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot
        self.desk = QuizDesk(bot)

    @property
    def kb(self) -> KnowledgeBase:
        return self.bot.kb

    # --- messages: answers by reply, follow-ups -------------------------------------------------

    async def replied_bot_message(self, message: discord.Message) -> discord.Message | None:
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        target = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
        if target is None:
            try:
                target = await message.channel.fetch_message(ref.message_id)
            except (discord.NotFound, discord.Forbidden):
                return None
        assert self.bot.user is not None
        return target if target.author.id == self.bot.user.id else None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Errors propagate to Bot.on_error, which replies briefly (see errors.py)."""
        if message.author.bot or self.bot.user is None:
            return
        target = await self.replied_bot_message(message)
        role = message_role(custom_ids(target)) if target is not None else None
        mentioned = self.bot.user in message.mentions
        thread_question = self.bot.qotd_threads.get(message.channel.id)
        if role is None and not mentioned and thread_question is None:
            return  # not addressed to the bot
        self.bot.check_rate(message.author.id)
        guild_id = message.guild.id if message.guild else None
        if role is not None and role.kind == "question" and role.ref is not None:
            assert target is not None
            await self.answer_by_message(message, role.ref, target.created_at, guild_id)
        elif role is not None:
            await self.follow_up(message, role.question_id)
        elif thread_question is not None and not mentioned:
            # A thread started from a message has its id: the question was posted then.
            asked_at = discord.utils.snowflake_time(message.channel.id)
            await self.answer_by_message(message, QuizRef(thread_question, ANYONE), asked_at, guild_id)
        else:
            await self.follow_up(message, thread_question or self.bot.recent.get(message.author.id))

    async def answer_by_message(
        self, message: discord.Message, ref: QuizRef, asked_at: datetime | None, guild_id: int | None
    ) -> None:
        async with message.channel.typing():
            reply = await self.desk.grade(message.author, guild_id, ref, message.content, asked_at)
        await message.reply(**reply, mention_author=False)

    async def follow_up(self, message: discord.Message, context_id: str | None) -> None:
        assert self.bot.user is not None
        query = strip_mention(message.content, self.bot.user.id)
        if not query:
            await message.reply(
                "Ask me something after the mention, for example: "
                f"{self.bot.user.mention} why not initialise all weights to zero?",
                mention_author=False,
            )
            return
        async with message.channel.typing():
            result = await self.desk.ask_about(query, context_id)
        embed = ask_embed(result, self.kb)
        if context_id and context_id in self.kb.entries:
            embed.set_footer(text=clip(f"Follow-up on {context_id} · {embed.footer.text}", 2048))
        await message.reply(embed=embed, view=ask_view(result), mention_author=False)


