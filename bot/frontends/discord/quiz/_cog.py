"""Quizzing: /quiz, the question buttons, the answer modal, answers by reply, follow-ups.

Glue only. The tutor core decides: bot.tutor.session picks questions and, through a TutorSession,
grades (GradingService: micro-batched, off the event loop), records and explains answers, so
Discord and the terminal behave alike. A Discord quiz keeps its state in the question message
(logic.QuizRef in the buttons' custom ids), so each action rebuilds a short-lived session from
the message instead of keeping one per user in memory: that is what lets buttons, replies and
forms keep working across restarts and with several quizzes open at once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import EmptyAnswer, UnknownQuestion, UserError
from bot.domain.results import AskResult
from bot.frontends.discord.embeds import ask_embed, graded_embed, question_embed, reference_embed
from bot.frontends.discord.logic import (
    ANSWER_FIELD,
    ANYONE,
    QuizRef,
    clip,
    message_role,
    modal_values,
    parse_modal_id,
    related_questions,
    strip_mention,
)
from bot.frontends.discord.views import AnswerModal, QuizButton, TryButton, context_view, quiz_view
from bot.retrieval.retriever import FOLLOW_UP_MARGIN
from bot.tutor.session import MODES, Pick, Question, QuizRequest, TutorSession, pick_question
from knowledge.schema import DIFFICULTY_NAMES, Entry, Topic

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

NOT_YOURS = "This quiz belongs to someone else: start your own with `/quiz`."

TOPIC_CHOICES = [app_commands.Choice(name=t.value, value=t.value) for t in Topic]
DIFFICULTY_CHOICES = [app_commands.Choice(name=name, value=key) for key, name in DIFFICULTY_NAMES.items()]
MODE_CHOICES = [app_commands.Choice(name=m, value=m) for m in MODES]


def custom_ids(message: discord.Message) -> list[str]:
    ids = []
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None):
                ids.append(child.custom_id)
    return ids


def ask_view(result: AskResult) -> discord.ui.View:
    """Under an answer: 'Quiz me' on its question, or the closest questions when unsure."""
    hits = result.results[:1] if result.confident else result.results[:3]
    view = discord.ui.View(timeout=None)
    for hit in hits:
        view.add_item(TryButton(hit.question_id, f"Quiz me on {hit.question_id}"))
    return view


class Quiz(commands.Cog):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot

    # --- helpers ----------------------------------------------------------------------------

    @property
    def kb(self):
        return self.bot.runtime.kb

    def entry(self, question_id: str) -> Entry:
        entry = self.kb.get(question_id)
        if entry is None:  # a button from before the knowledge base changed
            raise UnknownQuestion(question_id, list(self.kb.entries))
        return entry

    def demos_of(self, entry: Entry) -> list[str]:
        return [d for d in entry.demos if d in self.kb.demos]

    def question_message(
        self, ref: QuizRef, *, revealed: bool = False, reason: str | None = None
    ) -> dict[str, Any]:
        entry = self.entry(ref.question_id)
        footer = "Press Answer, or reply to this message with your answer."
        if reason:
            footer = f"{reason[:1].upper()}{reason[1:]}. {footer}"
        return {
            "embed": question_embed(
                entry, self.kb.groups.get(entry.parent or ""), hints=ref.hints, revealed=revealed,
                footer=footer,
            ),
            "view": quiz_view(
                ref, has_demo=bool(self.demos_of(entry)), revealed=revealed,
                max_hints=len(entry.hints),
            ),
        }

    async def choose(
        self, user_id: int, request: QuizRequest, exclude: tuple[str, ...] = ()
    ) -> Pick:
        user, progress = str(user_id), self.bot.progress
        seen = await progress.seen_question_ids(user)
        due = await progress.due_reviews(user, limit=None)
        weak = []
        if request.mode == "weak":
            weak = await progress.weakest_topics(user, self.kb, n=len(self.kb.topics()))
        return pick_question(
            self.kb.entries.values(), request, seen=seen, due=due, weak=weak, recent=exclude
        )

    def session(
        self, user: discord.abc.User, guild_id: int | None, ref: QuizRef,
        asked_at: datetime | None,
    ) -> TutorSession:
        """A TutorSession holding the question a message shows (see the module docstring)."""
        entry = self.entry(ref.question_id)
        session = TutorSession(
            str(user.id), self.kb, self.bot.service, self.bot.progress,
            guild_id=None if guild_id is None else str(guild_id), clock=time.time,
        )
        session.current = Question(
            entry=entry, group=self.kb.groups.get(entry.parent or ""), mode="new", reason="",
            asked_at=(asked_at or datetime.now(UTC)).timestamp(), hints_used=ref.hints,
        )
        return session

    async def grade(
        self, user: discord.abc.User, guild_id: int | None, ref: QuizRef, answer: str,
        asked_at: datetime | None,
    ) -> dict[str, Any]:
        """Grade, store, and build the graded reply (embed + buttons)."""
        if not answer.strip():
            raise EmptyAnswer()
        feedback = await self.session(user, guild_id, ref, asked_at).answer(answer)
        entry = feedback.entry
        self.bot.recent.remember(user.id, entry.id)
        first = [feedback.related.id] if feedback.related else []
        related = related_questions(entry.id, first + entry.follow_ups, self.kb.entries)
        return {
            "embed": graded_embed(
                feedback, who=user.display_name, demos=self.demos_of(entry),
                demo_base_url=self.bot.settings.demo_base_url,
            ),
            "view": context_view(
                entry.id, [self.kb.entries[q] for q in related], reference=True
            ),
        }

    # --- /quiz and buttons --------------------------------------------------------------------

    @app_commands.command(name="quiz", description="Get an ML interview question to answer")
    @app_commands.describe(
        topic="Only questions on this topic", difficulty="Only this difficulty",
        mode="new (default), review (due ones), weak (your weakest topic) or cram (any)",
        question_id="A question by its id, e.g. 8.3.45 (start typing to search)",
    )
    @app_commands.rename(question_id="id")
    @app_commands.choices(topic=TOPIC_CHOICES, difficulty=DIFFICULTY_CHOICES, mode=MODE_CHOICES)
    async def quiz(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Choice[str] | None = None,
        difficulty: app_commands.Choice[str] | None = None,
        mode: app_commands.Choice[str] | None = None,
        question_id: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        prefix = None
        if question_id:
            # As on the terminal: an id, or a group's id for one of its sub-questions.
            prefix = question_id.strip().lower()
            ids = list(self.kb.entries)
            if not any(q == prefix or q.startswith(prefix + ".") for q in ids):
                unknown = UnknownQuestion(question_id.strip(), ids)
                raise UserError(f"{unknown} Start typing in the `id` option of `/quiz` to pick "
                                "one from the list.")
        request = QuizRequest(
            topic=topic and topic.value, difficulty=difficulty and difficulty.value,
            id_prefix=prefix, mode=mode.value if mode else "new",
        )
        pick = await self.choose(interaction.user.id, request)
        await self.start_quiz_on(interaction, pick.entry.id, pick.reason)

    @quiz.autocomplete("question_id")
    async def question_ids(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Ids starting with what was typed first, then questions whose text contains it."""
        needle = current.lower().strip()
        entries = list(self.kb.entries.values())
        starts = [e for e in entries if e.id.startswith(needle)]
        inside = [e for e in entries if e not in starts
                  and (needle in e.id or needle in e.prompt.lower()
                       or any(needle in t for t in e.topic_names))]
        return [app_commands.Choice(name=clip(f"{e.id} · {e.prompt}", 100), value=e.id)
                for e in (starts + inside)[:25]]

    async def start_quiz_on(
        self, interaction: discord.Interaction, question_id: str, reason: str | None = None
    ) -> None:
        """A new question message owned by whoever asked (also the related / review buttons)."""
        ref = QuizRef(question_id, interaction.user.id)
        message = self.question_message(ref, reason=reason)
        self.bot.recent.remember(interaction.user.id, question_id)
        await interaction.response.send_message(**message)

    async def on_quiz_button(self, interaction: discord.Interaction, action: str, ref: QuizRef) -> None:
        if not ref.may_press(interaction.user.id):
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        entry = self.entry(ref.question_id)
        question = interaction.message
        asked_at = question.created_at if question else None
        if action == "answer":
            await interaction.response.send_modal(AnswerModal(ref, entry))
        elif action == "hint":
            hint = self.session(interaction.user, interaction.guild_id, ref, asked_at).hint()
            message = self.question_message(ref.with_hint())
            message["embed"].set_footer(
                text=f"Hint {hint.number} of {hint.total}: the best score is now "
                     f"{hint.max_score:.0%}. Press Answer, or reply with your answer."
            )
            await interaction.response.edit_message(**message)
        elif action == "reveal":
            # Recorded as a miss, as in the terminal: seeing the answer is not recalling it.
            await interaction.response.edit_message(**self.question_message(ref, revealed=True))
            reveal = await self.session(interaction.user, interaction.guild_id, ref, asked_at).reveal()
            if reveal.save_error:
                await interaction.followup.send(f"Not saved: {reveal.save_error}", ephemeral=True)
        elif action == "skip":
            pick = await self.choose(interaction.user.id, QuizRequest(), exclude=(ref.question_id,))
            self.bot.recent.remember(interaction.user.id, pick.entry.id)
            await interaction.response.edit_message(
                **self.question_message(QuizRef(pick.entry.id, ref.owner_id), reason=pick.reason)
            )
        elif action == "demo":
            demos = self.demos_of(entry)
            if not demos:
                await interaction.response.send_message("This question has no demo yet.", ephemeral=True)
                return
            await self.bot.get_cog("Study").send_demo(interaction, demos[0])  # type: ignore[union-attr]

    async def show_reference(self, interaction: discord.Interaction, question_id: str) -> None:
        await interaction.response.send_message(
            embed=reference_embed(self.entry(question_id)), ephemeral=True
        )

    # --- the answer modal -----------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        custom_id = (interaction.data or {}).get("custom_id", "")
        ref = parse_modal_id(custom_id)
        if ref is None:
            return
        try:
            self.bot.check_rate(interaction.user.id)
            await self.grade_modal(interaction, ref)
        except Exception as exc:  # handed to the one error handler
            await self.bot.errors.interaction_failed(interaction, exc, where=f"modal {custom_id}")

    async def grade_modal(self, interaction: discord.Interaction, ref: QuizRef) -> None:
        if not ref.may_press(interaction.user.id):
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        answer = modal_values((interaction.data or {}).get("components", [])).get(ANSWER_FIELD, "")
        if not answer.strip():
            raise EmptyAnswer()
        shared = ref.owner_id == ANYONE  # question of the day: graded answers go to its thread
        await interaction.response.defer(thinking=True, ephemeral=shared)
        question = interaction.message
        reply = await self.grade(
            interaction.user, interaction.guild_id, ref, answer,
            question.created_at if question else None,
        )
        if shared and question is not None:
            # A thread started from a message has that message's id.
            thread = self.bot.get_partial_messageable(question.id, guild_id=interaction.guild_id)
            await thread.send(**reply)
            await interaction.followup.send("Graded: see the thread of answers.", ephemeral=True)
        else:
            await interaction.followup.send(**reply)

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
            reply = await self.grade(message.author, guild_id, ref, message.content, asked_at)
        await message.reply(**reply, mention_author=False)

    async def ask_about(self, query: str, context_id: str | None) -> AskResult:
        """A follow-up on a question: answered from that question when it is about it, and
        saying so when its notes don't cover it (see bot/retrieval.py)."""
        if not context_id or context_id not in self.kb.entries:
            return await self.bot.service.ask(query)
        retriever = self.bot.runtime.retriever
        return await asyncio.to_thread(
            retriever.ask, query, 3, context_id, FOLLOW_UP_MARGIN
        )

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
            result = await self.ask_about(query, context_id)
        embed = ask_embed(result, self.kb)
        if context_id and context_id in self.kb.entries:
            embed.set_footer(text=clip(f"Follow-up on {context_id} · {embed.footer.text}", 2048))
        await message.reply(embed=embed, view=ask_view(result), mention_author=False)


__all__ = ["Quiz", "QuizButton", "ask_view", "custom_ids"]
