"""Solo quizzing: /quiz, its buttons and answer form, answers by reply, follow-up questions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.frontends.discord.quiz._cog import Quiz

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


async def setup(bot: GradcheckBot) -> None:
    await bot.add_cog(Quiz(bot))
