"""/ask, /demo, /review, /stats, /leaderboard, /topics, /help and /forgetme."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import UserError, closest
from bot.frontends.discord.embeds import (
    ask_embed,
    demo_embed,
    help_embed,
    leaderboard_embed,
    review_embed,
    stats_embed,
    topics_embed,
)
from bot.frontends.discord.logic import plural, week_start
from bot.frontends.discord.views import ConfirmationView, TryButton, ask_view
from bot.tutor.demos import run_demo
from knowledge.loader import KnowledgeBase

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

MAX_PLOTS = 8  # Discord allows 10 attachments: the script, its output and up to 8 plots


class Study(commands.Cog):
    def __init__(self, bot: GradcheckBot):
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.actions["study.demo"] = self.send_demo  # the Demo button of a question

    @property
    def kb(self) -> KnowledgeBase:
        return self.bot.kb

    # --- /ask ---------------------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask about training neural networks")
    @app_commands.describe(question="Your question, e.g. why is batch norm different at test time?")
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 2, 1000]
    ) -> None:
        await interaction.response.defer(thinking=True)
        # Favour the question the user is working on, as the terminal tutor does.
        context = self.bot.recent.get(interaction.user.id)
        result = await self.bot.service.ask(question, context_id=context)
        await interaction.followup.send(embed=ask_embed(result, self.kb), view=ask_view(result))

    # --- /demo --------------------------------------------------------------------------------

    @app_commands.command(name="demo", description="Run a NumPy demo: its code, output and plot")
    @app_commands.describe(name="Which demo (start typing to search)")
    async def demo(self, interaction: discord.Interaction, name: str) -> None:
        await self.send_demo(interaction, name)

    @demo.autocomplete("name")
    async def demo_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.lower().strip()
        found = [
            d for d in self.kb.demos.values()
            if needle in d.name.lower() or needle in d.title.lower()
        ]
        return [
            app_commands.Choice(name=f"{d.name}: {d.title}"[:100], value=d.name)
            for d in sorted(found, key=lambda d: (not d.name.startswith(needle), d.name))[:25]
        ]

    async def send_demo(self, interaction: discord.Interaction, name: str) -> None:
        info = self.kb.demos.get(name)
        if info is None:  # typed rather than picked: point at the list, not at a shell command
            found = closest(name, list(self.kb.demos))
            hint = f" Did you mean {', '.join(f'`/demo {d}`' for d in found)}?" if found else ""
            raise UserError(f"Unknown demo {name!r}.{hint} Start typing in the `name` option of "
                            "`/demo` to pick one from the list.")
        await interaction.response.defer(thinking=True)
        out_dir = self.bot.settings.demo_dir / f"discord-{interaction.id}"
        try:
            run = await asyncio.to_thread(run_demo, name, out_dir)
            base_url = self.bot.settings.demo_base_url
            files = []
            if not base_url:  # no public link: attach the script itself
                files.append(discord.File(info.path, filename=info.path.name))
            log = run.output + (f"\n--- stderr ---\n{run.stderr}" if run.stderr.strip() else "")
            files.append(discord.File(io.BytesIO(log.encode()), filename=f"{name}-output.txt"))
            files += [discord.File(p, filename=p.name) for p in run.plots[:MAX_PLOTS] if p.exists()]
            embed = demo_embed(info, run, base_url, [f.filename for f in files])
            await interaction.followup.send(embed=embed, files=files)
        finally:
            await asyncio.to_thread(shutil.rmtree, out_dir, True)

    # --- progress -----------------------------------------------------------------------------

    @app_commands.command(name="review", description="Questions due for spaced-repetition review")
    async def review(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        due = await self.bot.progress.due_reviews(str(interaction.user.id), limit=10)
        due = [d for d in due if d.question_id in self.kb.entries]
        view = discord.ui.View(timeout=None)
        for item in due[:5]:
            view.add_item(TryButton(item.question_id, f"Review {item.question_id}"))
        await interaction.followup.send(
            embed=review_embed(due, self.kb, datetime.now(UTC)), view=view, ephemeral=True
        )

    @app_commands.command(name="stats", description="Your progress: answers, streak, readiness")
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        user = str(interaction.user.id)
        stats = await self.bot.progress.stats(user, self.kb)
        weakest = await self.bot.progress.weakest_topics(user, self.kb, 3)
        await interaction.followup.send(
            embed=stats_embed(stats, weakest, interaction.user.display_name), ephemeral=True
        )

    @app_commands.command(name="leaderboard", description="This server's top scorers")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True)
        guild = str(interaction.guild_id)
        week = await self.bot.progress.leaderboard(guild, since=week_start(datetime.now(UTC)))
        all_time = await self.bot.progress.leaderboard(guild)
        name = interaction.guild.name if interaction.guild else "this server"
        await interaction.followup.send(embed=leaderboard_embed(name, week, all_time))

    @app_commands.command(name="topics", description="What there is to practise")
    async def topics(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        stats = await self.bot.progress.stats(str(interaction.user.id), self.kb)
        mastery = [t for t in stats.topics if t.questions_attempted]
        await interaction.followup.send(embed=topics_embed(self.kb, mastery), ephemeral=True)

    @app_commands.command(name="help", description="How to use gradcheck")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=help_embed(), ephemeral=True)

    @app_commands.command(name="forgetme", description="Delete everything gradcheck stores about you")
    async def forgetme(self, interaction: discord.Interaction) -> None:
        view = ConfirmationView(interaction.user.id)
        await interaction.response.send_message(
            "This deletes all your answers, reviews and progress, in every server. Sure?",
            view=view, ephemeral=True,
        )
        self.bot.untrack()  # only waiting for a press from here: a stopping bot needn't wait
        await view.wait()
        if view.value:
            counts = await self.bot.progress.forget_user(str(interaction.user.id))
            self.bot.recent.forget(interaction.user.id)
            text = (f"Done: deleted {plural(counts.get('attempts', 0), 'answer')} and "
                    f"{plural(counts.get('reviews', 0), 'review schedule')}. "
                    "Nothing about you is left.")
        else:
            text = "Cancelled: nothing was deleted." if view.value is False else "Timed out: nothing was deleted."
        await interaction.edit_original_response(content=text, view=None)
