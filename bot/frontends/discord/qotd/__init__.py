"""Question of the day: /qotd set|show|off and the daily post with its thread of answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.frontends.discord.qotd._cog import Qotd

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


async def setup(bot: GradcheckBot) -> None:
    await bot.add_cog(Qotd(bot))
