"""The Discord side of a night's runner (bot.tutor.night_runner.NightOutput): where its messages
go. The runner decides when; this only posts and edits, in the night's thread.

Discord limits: the round message is edited when someone answers (coalesced: at most once
every `refresh_after` seconds) and for the countdown every `countdown_every` seconds, well
under the ~5 edits per 5 s a channel allows; the `<t:…:R>` timestamp ticks in each client.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.frontends.discord.mock._messages import (
    final_message,
    lobby_message,
    reveal_message,
    round_message,
)
from bot.tutor.night import Night

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

log = logging.getLogger("gradcheck.discord")


class DiscordNightOutput:
    def __init__(self, bot: GradcheckBot, reveal_seconds: float):
        self.bot = bot
        self.reveal_seconds = reveal_seconds

    def thread(self, night: Night) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(night.thread_id or night.channel_id,
                                                guild_id=night.guild_id)

    async def wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    def serves(self, guild_id: int) -> bool:
        return self.bot.get_guild(guild_id) is not None

    async def post_round(self, night: Night) -> int | None:
        message = await self.thread(night).send(**round_message(self.bot.kb, night))
        return message.id

    async def refresh_round(self, night: Night) -> None:
        rnd = night.current
        if rnd is None or rnd.message_id is None:
            return
        try:
            await self.thread(night).get_partial_message(rnd.message_id).edit(
                **round_message(self.bot.kb, night))
        except discord.HTTPException as exc:
            log.warning("mock night %s: could not update round %s: %s", night.id, rnd.number, exc)

    async def post_reveal(self, night: Night) -> None:
        await self.thread(night).send(**reveal_message(self.bot.kb, night, self.reveal_seconds))

    async def post_final(self, night: Night, scheduled: dict[int, set[str]]) -> None:
        await self.thread(night).send(**final_message(self.bot.kb, night, scheduled))

    async def refresh_lobby(self, night: Night) -> None:
        assert night.lobby_message_id is not None
        with contextlib.suppress(discord.HTTPException):
            lobby = self.bot.get_partial_messageable(night.channel_id, guild_id=night.guild_id)
            await lobby.get_partial_message(night.lobby_message_id).edit(**lobby_message(night))

    async def note(self, night: Night, text: str) -> None:
        await self.thread(night).send(text)
