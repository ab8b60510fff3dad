"""The one place that turns failures into a short private reply and a log line with context.

Every path ends here: slash commands (tree.on_error), buttons and the answer modal (their
callbacks call `interaction_failed`), the confirmation view (View.on_error), and event listeners
such as replies and mentions (Bot.on_error -> `event_failed`).

Dispatch order in `describe` (first match wins):
1. app_commands wrappers (CommandInvokeError, TransformerError) are unwrapped to their cause;
2. Slowdown (per-user rate limit): a friendly wait, not logged as an error;
3. permission and context checks (MissingPermissions, NoPrivateMessage): say what is needed;
   other check failures (ShuttingDown: the bot is stopping) say their own message;
4. UserError (unknown question or demo, empty answer, bad time): its own one-line message;
5. StorageError: the database is unavailable, try again (logged as an error);
6. discord.Forbidden: the bot lacks a permission in this channel (logged as a warning);
7. anything else: "something went wrong on my side", logged with a traceback.
"""

from __future__ import annotations

import logging
import sys

import discord
from discord import app_commands

from bot.domain.errors import StorageError, UserError

log = logging.getLogger("gradcheck.discord")


class Slowdown(app_commands.CheckFailure):
    """The per-user rate limit was hit."""

    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        super().__init__(f"rate limited for {retry_after:.1f}s")


class ShuttingDown(app_commands.CheckFailure):
    """The bot is stopping (SIGTERM, Ctrl-C) and takes no new work."""

    def __init__(self) -> None:
        super().__init__("I'm restarting and can't take that right now: try again in a minute.")


_PERMISSION_NAMES = {"manage_guild": "Manage Server", "administrator": "Administrator"}


def describe(error: BaseException, command: str | None = None) -> tuple[str, int]:
    """(what to tell the user, log level) for an error; see the module docstring."""
    error = _unwrap(error)
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't use {str(error.value)[:80]!r} for that option.", logging.INFO
    if isinstance(error, Slowdown):
        wait = max(1, round(error.retry_after))
        return (
            f"Easy there! You're going faster than I can keep up: try again in {wait}s.",
            logging.DEBUG,
        )
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(_PERMISSION_NAMES.get(p, p.replace("_", " ").title())
                          for p in error.missing_permissions)
        what = f"use /{command}" if command else "do that"
        return f"Only members with the {names} permission can {what}.", logging.INFO
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That only works in a server, not in direct messages.", logging.INFO
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use that here.", logging.INFO
    if isinstance(error, UserError):
        return str(error), logging.INFO
    if isinstance(error, StorageError):
        return (
            "I can't reach my database right now, so nothing was saved. Try again in a minute.",
            logging.ERROR,
        )
    if isinstance(error, discord.Forbidden):
        return (
            "I'm missing a permission in this channel (send messages, embed links, attach files "
            "or create threads). Ask a server admin to check my role.",
            logging.WARNING,
        )
    return "Something went wrong on my side. It has been logged; please try again.", logging.ERROR


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError) and error.__cause__ is not None:
        error = error.__cause__
    return error


class ErrorHandler:
    async def interaction_failed(
        self, interaction: discord.Interaction, error: BaseException, *, where: str | None = None
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else None
        if where is None:
            where = f"/{command}" if command else f"interaction {interaction.type.name}"
        text, level = describe(error, command)
        self._log(level, error, where, interaction.user, interaction.guild_id, interaction.channel_id)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:  # the interaction expired or was answered elsewhere
            log.warning("could not tell %s about the failure of %s: %s", interaction.user, where, exc)

    async def app_command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.interaction_failed(interaction, error)

    async def event_failed(self, event: str, *args: object) -> None:
        """Bot.on_error: called inside the except block, so sys.exc_info() holds the error."""
        error = sys.exc_info()[1]
        if error is None:
            return
        first = args[0] if args else None
        if isinstance(first, discord.Interaction):
            await self.interaction_failed(first, error, where=f"event {event}")
            return
        if isinstance(first, discord.Message):
            text, level = describe(error)
            self._log(level, error, f"event {event} (message {first.id})", first.author,
                      first.guild.id if first.guild else None, first.channel.id)
            try:
                await first.reply(text, mention_author=False)
            except discord.HTTPException as exc:
                log.warning("could not reply to message %s about a failure: %s", first.id, exc)
            return
        log.error("event %s failed", event, exc_info=error)

    @staticmethod
    def _log(level: int, error: BaseException, where: str, user: object, guild_id: object,
             channel_id: object) -> None:
        error = _unwrap(error)
        log.log(
            level,
            "%s failed for user %s (%s) in guild %s channel %s: %s: %s",
            where, user, getattr(user, "id", "?"), guild_id, channel_id,
            type(error).__name__, error,
            exc_info=error if level >= logging.ERROR else None,
        )
