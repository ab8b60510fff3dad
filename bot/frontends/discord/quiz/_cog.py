"""Quizzing: /quiz, the question buttons, the answer modal, answers by reply, follow-ups.

Glue only. The tutor core decides: bot.tutor.chooser picks questions and, through a TutorSession,
grades (GradingService: micro-batched, off the event loop), records and explains answers, so
Discord and the terminal behave alike. A Discord quiz keeps its state in the question message
(logic.QuizRef in the buttons' custom ids), so each action rebuilds a short-lived session from
the message instead of keeping one per user in memory: that is what lets buttons, replies and
forms keep working across restarts and with several quizzes open at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.enums import Difficulty, Mode
from bot.domain.errors import EmptyAnswer, UnknownQuestion, UserError
from bot.frontends.discord.embeds import reference_embed
from bot.frontends.discord.logic import (
    ANSWER_FIELD,
    ANYONE,
    QuizRef,
    clip,
    modal_values,
    parse_modal_id,
)
from bot.frontends.discord.quiz._desk import QuizDesk
from bot.frontends.discord.views import (
    DIFFICULTY_CHOICES,
    MODE_CHOICES,
    TOPIC_CHOICES,
    AnswerModal,
    interaction_data,
)
from bot.tutor.chooser import QuizRequest
from knowledge.loader import KnowledgeBase

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

NOT_YOURS = "This quiz belongs to someone else: start your own with `/quiz`."


class Quiz(commands.Cog):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot
        self.desk = QuizDesk(bot)

    async def cog_load(self) -> None:
        self.bot.actions["quiz.button"] = self.on_quiz_button
        self.bot.actions["quiz.reference"] = self.show_reference
        self.bot.actions["quiz.start"] = self.start_quiz_on

    @property
    def kb(self) -> KnowledgeBase:
        return self.bot.kb

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
            topic=topic.value if topic else None, difficulty=Difficulty(difficulty.value) if difficulty else None,
            id_prefix=prefix, mode=Mode(mode.value) if mode else Mode.NEW,
        )
        pick = await self.bot.chooser.for_user(str(interaction.user.id), request)
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
        message = self.desk.question_message(ref, reason=reason)
        self.bot.recent.remember(interaction.user.id, question_id)
        await interaction.response.send_message(**message)

    async def on_quiz_button(self, interaction: discord.Interaction, action: str, ref: QuizRef) -> None:
        if not ref.may_press(interaction.user.id):
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        entry = self.desk.entry(ref.question_id)
        question = interaction.message
        asked_at = question.created_at if question else None
        if action == "answer":
            await interaction.response.send_modal(AnswerModal(ref, entry))
        elif action == "hint":
            hint = self.desk.session(interaction.user, interaction.guild_id, ref, asked_at).hint()
            message = self.desk.question_message(ref.with_hint())
            message["embed"].set_footer(
                text=f"Hint {hint.number} of {hint.total}: the best score is now "
                     f"{hint.max_score:.0%}. Press Answer, or reply with your answer."
            )
            await interaction.response.edit_message(**message)
        elif action == "reveal":
            # Recorded as a miss, as in the terminal: seeing the answer is not recalling it.
            await interaction.response.edit_message(**self.desk.question_message(ref, revealed=True))
            reveal = await self.desk.session(interaction.user, interaction.guild_id, ref, asked_at).reveal()
            if reveal.save_error:
                await interaction.followup.send(f"Not saved: {reveal.save_error}", ephemeral=True)
        elif action == "skip":
            pick = await self.bot.chooser.for_user(str(interaction.user.id), QuizRequest(),
                                                   recent=(ref.question_id,))
            self.bot.recent.remember(interaction.user.id, pick.entry.id)
            await interaction.response.edit_message(
                **self.desk.question_message(QuizRef(pick.entry.id, ref.owner_id), reason=pick.reason)
            )
        elif action == "demo":
            demos = self.desk.demos_of(entry)
            if not demos:
                await interaction.response.send_message("This question has no demo yet.", ephemeral=True)
                return
            await self.bot.actions["study.demo"](interaction, demos[0])

    async def show_reference(self, interaction: discord.Interaction, question_id: str) -> None:
        await interaction.response.send_message(
            embed=reference_embed(self.desk.entry(question_id)), ephemeral=True
        )

    # --- the answer modal -----------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        custom_id = interaction_data(interaction).get("custom_id", "")
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
        answer = modal_values(interaction_data(interaction).get("components", [])).get(ANSWER_FIELD, "")
        if not answer.strip():
            raise EmptyAnswer()
        shared = ref.owner_id == ANYONE  # question of the day: graded answers go to its thread
        await interaction.response.defer(thinking=True, ephemeral=shared)
        question = interaction.message
        reply = await self.desk.grade(
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

