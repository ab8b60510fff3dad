"""Group mock-interview nights: /mock start|history|hostrole|pairs, and the night's buttons.

Glue only: bot.tutor.night decides (states, deadlines, scores), bot.tutor.night_runner runs the
nights (locks, timers, grading, resuming after a restart), bot.storage.mock keeps them; this cog
turns slash commands, buttons and the answer form into runner calls, and `DiscordNightOutput`
shows what the runner reports. Buttons carry the night id and round in their custom ids
(`gc:m:<action>:<night>:<round>`) and nights are reloaded on start-up, so a restart keeps a
night going.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import metrics
from bot.domain.enums import Difficulty
from bot.frontends.discord.logic import clip
from bot.frontends.discord.mock._messages import (
    brief_message,
    history_embed,
    lobby_message,
    pairs_message,
    round_message,
)
from bot.frontends.discord.mock._output import DiscordNightOutput
from bot.frontends.discord.mock._views import (
    MarkButton,
    MockAnswerModal,
    MockButton,
    answer_form,
    answer_text,
)
from bot.frontends.discord.views import DIFFICULTY_CHOICES
from bot.tutor.night import Night
from bot.tutor.night_runner import NightRunner
from bot.tutor.pairs import check_interviewer, pair_up

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

NOT_A_HOST = ("Only members with the Manage Events or Manage Server permission, or the host "
              "role an admin set with `/mock hostrole`, can host a mock night.")


@app_commands.guild_only()
class Mock(commands.GroupCog, group_name="mock", group_description="Group mock-interview nights"):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot
        self.store = bot.mock_store
        self.runner = NightRunner(DiscordNightOutput(bot, NightRunner.reveal_seconds), self.store,
                                  bot.service, bot.progress, bot.chooser, timers=bot.timers,
                                  track=bot.track)
        self.output = self.runner.output
        # Read at scrape time, so every place that starts, resumes or ends a night is counted.
        metrics.ACTIVE_SESSIONS.function = lambda: float(len(self.runner.nights))
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MockButton, MarkButton)
        self.bot.actions["mock.button"] = self.on_button
        self.bot.actions["mock.mark"] = self.on_mark
        self.runner.start_resuming()

    async def cog_unload(self) -> None:
        await self.runner.close()

    # The runner's state, as tests and operators know it from the cog.
    @property
    def nights(self) -> dict[int, Night]:
        return self.runner.nights

    @property
    def refresh_after(self) -> float:
        return self.runner.refresh_after

    @refresh_after.setter
    def refresh_after(self, seconds: float) -> None:
        self.runner.refresh_after = seconds

    def poke(self, night_id: int, *, dirty: bool = False) -> None:
        self.runner.poke(night_id, dirty=dirty)

    async def is_host(self, interaction: discord.Interaction) -> bool:
        perms = interaction.permissions  # as Discord resolved them for this member and channel
        if perms.manage_events or perms.manage_guild:
            return True
        role = await self.store.host_role(interaction.guild_id or 0)
        return role is not None and any(r.id == role for r in getattr(interaction.user, "roles", ()))

    # --- commands -----------------------------------------------------------------------------

    @app_commands.command(name="start", description="Host a mock-interview night in a thread")
    @app_commands.describe(rounds="How many questions (1-10)", difficulty="Only this difficulty",
                           topics="Comma-separated topics, e.g. optimization, initialization",
                           seconds="Time to answer each question (5-600 s)")
    @app_commands.choices(difficulty=DIFFICULTY_CHOICES)
    async def start(
        self, interaction: discord.Interaction,
        rounds: app_commands.Range[int, 1, 10] = 3,
        difficulty: app_commands.Choice[str] | None = None,
        topics: str | None = None,
        seconds: app_commands.Range[int, 5, 600] = 120,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        if not await self.is_host(interaction):
            raise app_commands.CheckFailure(NOT_A_HOST)
        night = await self.runner.host_new(
            interaction.guild_id, interaction.channel_id, interaction.user.id, rounds, seconds,
            Difficulty(difficulty.value) if difficulty else None, topics or "")
        await interaction.response.send_message(**lobby_message(night))
        lobby = await interaction.original_response()
        thread = await lobby.create_thread(name=clip(f"Mock night #{night.id}", 100),
                                           auto_archive_duration=1440)
        await self.runner.placed(night, thread.id, lobby.id)

    @app_commands.command(name="history", description="Past mock-interview nights here")
    async def history(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        past = await self.store.history(interaction.guild_id)
        await interaction.response.send_message(embed=history_embed(past), ephemeral=True)

    @app_commands.command(name="hostrole", description="Let members with a role host nights")
    @app_commands.describe(role="This role may host (besides Manage Events / Manage Server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def hostrole(self, interaction: discord.Interaction, role: discord.Role) -> None:
        assert interaction.guild_id is not None
        await self.store.set_host_role(interaction.guild_id, role.id)
        await interaction.response.send_message(
            f"Members with {role.mention} can now host mock nights.", ephemeral=True)

    @app_commands.command(name="pairs", description="Interviewer mode: pair people up")
    @app_commands.describe(interviewer="assign this pair yourself (with candidate)",
                           candidate="who the interviewer interviews")
    async def pairs(self, interaction: discord.Interaction,
                    interviewer: discord.Member | None = None,
                    candidate: discord.Member | None = None) -> None:
        """Run by the host in the night's channel or thread: everyone present becomes an
        interviewer or a candidate (in join order), or the host names one pair."""
        night = self.runner.night_in(interaction.channel_id)
        chosen = [m.id if m is not None else None for m in (interviewer, candidate)]
        pairs = await self.runner.change(night, lambda: pair_up(night, interaction.user.id, *chosen))
        await interaction.response.send_message(**pairs_message(night, pairs))

    # --- buttons and the answer form ----------------------------------------------------------

    async def on_mark(self, interaction: discord.Interaction, night_id: int, round_number: int,
                      candidate: int, index: int, value: bool) -> None:
        night = await self.runner.get(night_id)
        await self.runner.mark(night, interaction.user.id, round_number, candidate, index, value)
        await interaction.response.edit_message(
            **brief_message(self.bot.kb, night, interaction.user.id))

    async def on_button(self, interaction: discord.Interaction, action: str, night_id: int,
                        round_number: int) -> None:
        night = await self.runner.get(night_id)
        user, respond = interaction.user, interaction.response
        if action in ("join", "leave"):
            if action == "join":
                await self.runner.join(night, user.id, user.display_name)
            else:
                await self.runner.leave(night, user.id)
            await respond.edit_message(**lobby_message(night))
        elif action == "start":
            night.check_start(user.id)  # before deferring: a refusal is a private reply
            await respond.defer()
            await self.runner.open_next(night)
            await interaction.edit_original_response(**lobby_message(night))
        elif action == "brief":
            check_interviewer(night, user.id)
            await respond.send_message(**brief_message(self.bot.kb, night, user.id), ephemeral=True)
        elif action == "answer":
            answering = night.check_answerable(user.id, round_number)
            await respond.send_modal(MockAnswerModal(
                night_id, answering.number, self.bot.kb.entries[answering.question_id]))
        elif action in ("pause", "resume", "skip"):
            await self.runner.host_step(night, action, user.id)
            rnd = night.current
            if rnd is not None and interaction.message is not None \
                    and interaction.message.id == rnd.message_id:
                await respond.edit_message(**round_message(self.bot.kb, night))
            else:  # pressed on a reveal: the round message is elsewhere
                await respond.send_message(f"Done: {action}.", ephemeral=True)
                self.runner.poke(night_id, dirty=True)
            await self.runner.after_host_step(night)
        elif action == "next":
            await self.runner.next(night, user.id)
            await respond.edit_message(view=None)
        elif action == "end":
            await self.runner.end(night, user.id)
            await respond.send_message("Night ended.", ephemeral=True)
            await self.runner.finish(night)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        form = answer_form(interaction)
        if form is None:
            return
        custom_id, night_id, round_number = form
        try:
            self.bot.check_rate(interaction.user.id)
            night = await self.runner.get(night_id)
            await self.runner.submit(night, interaction.user.id, interaction.user.display_name,
                                     answer_text(interaction), round_number)
            await interaction.response.send_message(
                "Got it: your answer is in, hidden until the reveal.", ephemeral=True)
        except Exception as exc:  # handed to the one error handler
            await self.bot.errors.interaction_failed(interaction, exc, where=f"modal {custom_id}")
