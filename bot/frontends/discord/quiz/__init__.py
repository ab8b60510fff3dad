"""Solo quizzing: /quiz, its buttons and answer form (_cog.py), answers by reply and follow-up
questions (_replies.py), both over the shared glue in _desk.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.frontends.discord.quiz._cog import Quiz
from bot.frontends.discord.quiz._replies import Replies

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


async def setup(bot: GradcheckBot) -> None:
    await bot.add_cog(Quiz(bot))
    await bot.add_cog(Replies(bot))
