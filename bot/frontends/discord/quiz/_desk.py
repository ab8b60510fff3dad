"""A quiz lives in its question message (logic.QuizRef in the buttons' custom ids): each action
rebuilds a short-lived TutorSession from the message. `QuizDesk` is that shared glue for the
/quiz cog and the reply listener: find the entry, build the question message, grade an answer."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.errors import EmptyAnswer, UnknownQuestion
from bot.domain.results import AskResult
from bot.frontends.discord.embeds import graded_embed, question_embed
from bot.frontends.discord.logic import QuizRef, related_questions
from bot.frontends.discord.views import context_view, quiz_view
from bot.retrieval.retriever import FOLLOW_UP_MARGIN
from bot.tutor.session import TutorSession
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


def custom_ids(message: discord.Message) -> list[str]:
    ids = []
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None):
                ids.append(child.custom_id)
    return ids


class QuizDesk:
    def __init__(self, bot: GradcheckBot):
        self.bot = bot

    @property
    def kb(self) -> KnowledgeBase:
        return self.bot.kb

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

    def session(
        self, user: discord.abc.User, guild_id: int | None, ref: QuizRef,
        asked_at: datetime | None,
    ) -> TutorSession:
        """A TutorSession holding the question a message shows (see the module docstring)."""
        session = TutorSession(
            str(user.id), self.kb, self.bot.service, self.bot.progress,
            guild_id=None if guild_id is None else str(guild_id), clock=time.time,
        )
        session.hold(self.entry(ref.question_id), hints_used=ref.hints,
                     asked_at=(asked_at or datetime.now(UTC)).timestamp())
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


    async def ask_about(self, query: str, context_id: str | None) -> AskResult:
        """A follow-up on a question: answered from that question when it is about it, and
        saying so when its notes don't cover it (see bot/retrieval/retriever.py)."""
        if not context_id or context_id not in self.kb.entries:
            return await self.bot.service.ask(query)
        retriever = self.bot.retriever
        return await asyncio.to_thread(
            retriever.ask, query, 3, context_id, FOLLOW_UP_MARGIN
        )
