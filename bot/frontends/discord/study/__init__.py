"""Study tools: /ask, /demo, /review, /stats, /leaderboard, /topics, /help, /forgetme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.frontends.discord.study._cog import Study

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


async def setup(bot: GradcheckBot) -> None:
    await bot.add_cog(Study(bot))
