"""Group mock-interview nights: /mock start|history|hostrole|pairs, lobby, rounds, reveals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.frontends.discord.mock._cog import Mock

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot


async def setup(bot: GradcheckBot) -> None:
    await bot.add_cog(Mock(bot))
