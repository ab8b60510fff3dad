"""Group mock-interview nights: /mock start|history|hostrole, the lobby, timed rounds, reveals.

Glue only: bot.tutor.night decides (states, deadlines, scores), bot.storage.mock keeps it, the
GradingService grades (micro-batched), ProgressStore records each graded answer so `/review`
brings missed questions back. Buttons carry the night id and round in their custom ids
(`gc:m:<action>:<night>:<round>`) and nights are reloaded on start-up, so a restart keeps a
night going. One timer task per night acts on its stored deadline; every other change comes
from a button or the answer form, each under the night's lock, saved before it is shown.

Discord limits: the round message is edited when someone answers (coalesced: at most once
every `refresh_after` seconds) and for the countdown every `countdown_every` seconds, well
under the ~5 edits per 5 s a channel allows; the `<t:…:R>` timestamp ticks in each client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import metrics
from bot.frontends.discord.embeds import question_embed
from bot.frontends.discord.logic import ANSWER_FIELD, clip, modal_values, plural
from bot.frontends.discord.quiz._cog import DIFFICULTY_CHOICES
from bot.frontends.discord.views import _route
from bot.storage.database import StorageError
from bot.storage.mock import MockStore
from bot.tutor.night import (
    FINISHED,
    LOBBY,
    OPEN,
    PAUSED,
    REVEAL,
    Night,
    NightError,
    assign_pair,
    assign_pairs,
    candidates_of,
    human_vs_auto,
    missed_most,
)
from bot.tutor.session import NothingToAsk, QuizRequest, pick_question, resolve_topic
from knowledge.schema import Entry

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

log = logging.getLogger("gradcheck.discord")

ACTIONS = ("join", "leave", "start", "answer", "pause", "resume", "skip", "end", "next", "brief")
MOCK_TEMPLATE = rf"gc:m:(?P<action>{'|'.join(ACTIONS)}):(?P<night>\d+):(?P<round>\d+)"
FORM_RE = re.compile(r"gc:mform:(?P<night>\d+):(?P<round>\d+)")
LABELS = {
    "join": ("Join", "🙋", discord.ButtonStyle.success),
    "leave": ("Leave", "🚪", discord.ButtonStyle.secondary),
    "start": ("Start", "▶️", discord.ButtonStyle.primary),
    "answer": ("Answer", "✍️", discord.ButtonStyle.primary),
    "pause": ("Pause", "⏸️", discord.ButtonStyle.secondary),
    "resume": ("Resume", "▶️", discord.ButtonStyle.success),
    "skip": ("Skip", "⏭️", discord.ButtonStyle.secondary),
    "end": ("End", "⏹️", discord.ButtonStyle.danger),
    "next": ("Next round", "➡️", discord.ButtonStyle.primary),
    "brief": ("Interviewer brief", "🎤", discord.ButtonStyle.secondary),
}
# Interviewer mode: one key point of one candidate's answer marked covered (1) or missed (0).
MARK_TEMPLATE = r"gc:mk:(?P<night>\d+):(?P<round>\d+):(?P<cand>\d+):(?P<index>\d):(?P<value>[01])"
VERDICT_MARK = {"correct": "✅", "partial": "🟨", "incorrect": "❌"}
MEDALS = ("🥇", "🥈", "🥉")


class MockButton(discord.ui.DynamicItem[discord.ui.Button], template=MOCK_TEMPLATE):
    def __init__(self, action: str, night_id: int, round_number: int = 0, *,
                 disabled: bool = False):
        label, emoji, style = LABELS[action]
        super().__init__(discord.ui.Button(
            label=label, emoji=emoji, style=style, disabled=disabled,
            custom_id=f"gc:m:{action}:{night_id}:{round_number}"))
        self.action, self.night_id, self.round_number = action, night_id, round_number

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> MockButton:
        return cls(match["action"], int(match["night"]), int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Mock")  # type: ignore[union-attr]
        await _route(interaction, f"button {self.custom_id}", cog.on_button, self.action,
                     self.night_id, self.round_number)


class MarkButton(discord.ui.DynamicItem[discord.ui.Button], template=MARK_TEMPLATE):
    """On the interviewer's private brief: mark key point `index` of a candidate's answer."""

    def __init__(self, night_id: int, round_number: int, candidate: int, index: int,
                 value: bool, label: str):
        super().__init__(discord.ui.Button(
            label=clip(label, 80),
            style=discord.ButtonStyle.success if value else discord.ButtonStyle.secondary,
            custom_id=f"gc:mk:{night_id}:{round_number}:{candidate}:{index}:{int(value)}"))
        self.args = (night_id, round_number, candidate, index, value)

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> MarkButton:
        return cls(int(match["night"]), int(match["round"]), int(match["cand"]),
                   int(match["index"]), match["value"] == "1", item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Mock")  # type: ignore[union-attr]
        await _route(interaction, f"button {self.custom_id}", cog.on_mark, *self.args)


class MockAnswerModal(discord.ui.Modal):
    """Private answer; handled by custom id in Mock.on_interaction (survives restarts)."""

    def __init__(self, night_id: int, round_number: int, entry: Entry):
        super().__init__(title=clip(f"Round {round_number} · {entry.id}", 45),
                         custom_id=f"gc:mform:{night_id}:{round_number}", timeout=900)
        self.add_item(discord.ui.Label(
            text="Your answer (hidden until the reveal)", description=clip(entry.prompt, 100),
            component=discord.ui.TextInput(
                custom_id=ANSWER_FIELD, style=discord.TextStyle.paragraph, min_length=1,
                max_length=4000, placeholder="Explain it as you would to an interviewer."),
        ))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        pass  # see the class docstring


def _view(night_id: int, round_number: int, actions: list[str], disabled: bool = False
          ) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(MockButton(action, night_id, round_number, disabled=disabled))
    return view


@app_commands.guild_only()
class Mock(commands.GroupCog, group_name="mock", group_description="Group mock-interview nights"):
    countdown_every = 20.0  # seconds between countdown edits of a round message
    refresh_after = 2.0  # "who has answered" edits are coalesced into one per this many seconds
    reveal_seconds = 45.0  # pause after a reveal before the next round (the host may skip it)

    def __init__(self, bot: GradcheckBot):
        self.bot = bot
        self.store: MockStore | None = None
        self.nights: dict[int, Night] = {}
        # Read at scrape time, so every place that starts, resumes or ends a night is counted.
        metrics.ACTIVE_SESSIONS.function = lambda: float(len(self.nights))
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.wake: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.dirty: set[int] = set()  # nights whose round message needs a refresh
        self.timers: dict[int, asyncio.Task] = {}
        self.grading: defaultdict[int, set[asyncio.Task]] = defaultdict(set)
        self._resuming: asyncio.Task | None = None
        self.closing = False
        super().__init__()

    async def cog_load(self) -> None:
        self.store = MockStore.open(self.bot.settings.resolved_database_url)
        self.bot.add_dynamic_items(MockButton, MarkButton)
        self._resuming = asyncio.create_task(self.resume_all(), name="mock-resume")

    async def cog_unload(self) -> None:
        self.closing = True
        for event in self.wake.values():
            event.set()
        tasks = [t for t in (self._resuming, *self.timers.values()) if t is not None]
        tasks += [t for ts in self.grading.values() for t in ts]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.store is not None:
            await self.store.close()

    # --- helpers ----------------------------------------------------------------------------

    @property
    def kb(self):
        return self.bot.runtime.kb

    def thread(self, night: Night) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(night.thread_id or night.channel_id,
                                                guild_id=night.guild_id)

    async def get(self, night_id: int) -> Night:
        night = self.nights.get(night_id)
        if night is None:
            stored = await self.store.load(night_id)
            if stored is None or stored.state != FINISHED:
                raise NightError("I don't know this night (it may run on another bot process).")
            raise NightError("This night is over: `/mock history` has its results.")
        return night

    def pick(self, night: Night) -> str:
        wanted = set(night.topics)
        entries = [e for e in self.kb.entries.values()
                   if not wanted or wanted & set(e.topic_names)]
        if not entries:
            raise NothingToAsk(f"No question is about {', '.join(night.topics)}.")
        request = QuizRequest(difficulty=night.difficulty, mode="cram")
        return pick_question(entries, request, seen=set(), recent=night.asked).entry.id

    def poke(self, night_id: int, *, dirty: bool = False) -> None:
        if dirty:
            self.dirty.add(night_id)
        self.wake[night_id].set()

    def ensure_timer(self, night: Night) -> None:
        assert night.id is not None
        task = self.timers.get(night.id)
        if task is None or task.done():
            self.timers[night.id] = asyncio.create_task(self.run_timer(night.id),
                                                        name=f"mock-night-{night.id}")

    async def is_host(self, interaction: discord.Interaction) -> bool:
        perms = interaction.permissions  # as Discord resolved them for this member and channel
        if perms.manage_events or perms.manage_guild:
            return True
        role = await self.store.host_role(interaction.guild_id or 0)
        return role is not None and any(r.id == role for r in getattr(interaction.user, "roles", ()))

    # --- messages -----------------------------------------------------------------------------

    def lobby_message(self, night: Night) -> dict[str, Any]:
        people = ", ".join(f"<@{p.user_id}>" for p in night.present) or "nobody yet"
        state = {LOBBY: "Press **Join**, then the host presses **Start**.",
                 FINISHED: "This night is over: the scoreboard is in the thread."}.get(
            night.state, "Under way in the thread: you can still join.")
        embed = discord.Embed(
            title=f"Mock-interview night #{night.id}", colour=discord.Colour.blurple(),
            description=f"Host: <@{night.host_id}>\n{state}")
        embed.add_field(name="Rounds", value=str(night.rounds_total))
        embed.add_field(name="Time per round", value=f"{night.seconds} s")
        embed.add_field(name="Topics", value=", ".join(night.topics) or "any")
        embed.add_field(name=f"Participants ({len(night.present)})", value=clip(people, 1024),
                        inline=False)
        actions = ["join", "leave"] + (["start"] if night.state == LOBBY else [])
        return {"embed": embed,
                "view": _view(night.id or 0, 0, actions, disabled=night.state == FINISHED)}

    def round_message(self, night: Night, now: float | None = None) -> dict[str, Any]:
        rnd = night.current
        assert rnd is not None and night.id is not None
        entry = self.kb.entries[rnd.question_id]
        now = time.time() if now is None else now
        embed = question_embed(
            entry, self.kb.groups.get(entry.parent or ""),
            title=f"Round {rnd.number} of {night.rounds_total} · {entry.id}",
            footer="Press Answer: answers are private until the reveal.")
        answered = [f"<@{uid}>" for uid in rnd.answers]  # who, never what
        expected = [p for p in night.present if p.role != "interviewer"]
        embed.add_field(name=f"Answered ({len(answered)}/{len(expected)})",
                        value=clip(" ".join(answered) or "nobody yet", 1024), inline=False)
        if not rnd.open:
            when = "Skipped." if rnd.skipped else "Time's up: the reveal is below."
            actions: list[str] = []
        elif night.state == PAUSED:
            when = "⏸️ Paused by the host."
            actions = ["resume", "skip", "end"]
        else:
            left = max(0, round(rnd.deadline - now))
            when = f"Ends <t:{int(rnd.deadline)}:R> (about {left} s left)."
            actions = ["answer", "pause", "skip", "end"]
        embed.add_field(name="Time", value=when, inline=False)
        return {"embed": embed, "view": _view(night.id, rnd.number, actions)}

    def reveal_message(self, night: Night) -> dict[str, Any]:
        rnd = night.current
        assert rnd is not None and night.id is not None
        entry = self.kb.entries[rnd.question_id]
        lines = [
            f"{i}. <@{a.user_id}> {VERDICT_MARK.get(a.verdict or '', '')} "
            f"**{(a.score or 0):.0%}** · {a.seconds:.0f} s"
            for i, a in enumerate(night.ranking(rnd), start=1)
        ]
        silent = [f"<@{p.user_id}>" for p in night.present
                  if p.user_id not in rnd.answers and p.role != "interviewer"]
        if silent:
            lines.append(f"No answer: {' '.join(silent)}")
        embed = discord.Embed(
            title=f"Round {rnd.number} results · {entry.id}", colour=discord.Colour.gold(),
            description=clip("\n".join(lines) or "Nobody answered this one.", 4096))
        embed.add_field(name="Reference answer", value=clip(entry.reference_answer, 1024),
                        inline=False)
        missed = [f"• {clip(entry.key_points[i].text, 200)} (missed by {n} of {total})"
                  for i, n, total in missed_most(rnd) if i < len(entry.key_points)]
        if missed:
            embed.add_field(name="Key points the group missed most",
                            value=clip("\n".join(missed), 1024), inline=False)
        if night.is_last_round:
            return {"embed": embed}
        embed.set_footer(text=f"Next round in {self.reveal_seconds:.0f} s, or when the host "
                              "presses Next round.")
        return {"embed": embed, "view": _view(night.id, rnd.number, ["next", "pause", "end"])}

    def final_message(self, night: Night, scheduled: dict[int, set[str]] | None = None
                      ) -> dict[str, Any]:
        """The scoreboard; `scheduled`: per player, the questions with a review schedule (only
        those are promised back by `/review`)."""
        scheduled = scheduled or {}
        board = night.scoreboard()
        lines = [
            f"{MEDALS[i] if i < 3 else f'{i + 1}.'} <@{s.user_id}> **{s.points * 100:.0f} pts** · "
            f"{plural(s.answered, 'answer')} · {s.seconds:.0f} s"
            for i, s in enumerate(board)
        ]
        note = f"\n\n{night.end_note}" if night.end_note else ""
        embed = discord.Embed(
            title=f"Final scoreboard · night #{night.id}", colour=discord.Colour.green(),
            description=clip(("\n".join(lines) or "Nobody played.") + note, 4096))
        topics_of = {qid: self.kb.entries[qid].topic_names for qid in night.asked
                     if qid in self.kb.entries}
        weak = night.weak_topics(topics_of)
        tips = []
        for s in board:
            topics, review = weak.get(s.user_id, ([], []))
            review = [q for q in review if q in scheduled.get(s.user_id, set())]
            if not s.answered:
                tips.append(f"<@{s.user_id}>: no answers tonight, nothing to review")
            elif review:
                tips.append(f"<@{s.user_id}>: weak on {', '.join(topics) or 'these'}; "
                            f"`/review` brings back {', '.join(review)}")
            elif topics:
                tips.append(f"<@{s.user_id}>: weak on {', '.join(topics)}")
            else:
                tips.append(f"<@{s.user_id}>: no weak topics tonight")
        if tips:
            embed.add_field(name="Weak topics and what to review", inline=False,
                            value=clip("\n".join(tips), 1024))
        cards = self.scorecard(night)
        if cards:
            embed.add_field(name="Scorecard: interviewer marks beside the grader", inline=False,
                            value=clip("\n".join(cards), 1024))
        return {"embed": embed}

    def scorecard(self, night: Night) -> list[str]:
        """Interviewer mode: per candidate and round, the human's key points beside the grader's."""
        lines = []
        for rnd in night.rounds:
            for a in rnd.answers.values():
                p = night.participants.get(a.user_id)
                if p is None or p.role != "candidate":
                    continue
                human, auto, n = human_vs_auto(a)
                marked = f"interviewer <@{p.partner_id}> {human}/{n}" if a.marks else \
                    "interviewer: not marked"
                grade = f"grader {auto}/{n} ({(a.score or 0):.0%})" if a.graded else "not graded"
                lines.append(f"<@{a.user_id}> round {rnd.number}: {marked} · {grade}")
        return lines

    def brief_message(self, night: Night, interviewer: int) -> dict[str, Any]:
        """The interviewer's private brief: question, key points, hints, follow-ups, marks."""
        rnd = night.current
        if rnd is None:
            raise NightError("The first question isn't out yet: press this again once it is.")
        entry = self.kb.entries[rnd.question_id]
        embed = discord.Embed(title=f"Interviewer brief · round {rnd.number} · {entry.id}",
                              description=f"**{entry.prompt}**", colour=discord.Colour.purple())
        embed.add_field(name="Key points", inline=False, value=clip("\n".join(
            f"{i}. {kp.text}{'' if kp.required else ' (bonus)'}"
            for i, kp in enumerate(entry.key_points, start=1)), 1024))
        embed.add_field(name="Hint ladder (give them in order)", inline=False, value=clip(
            "\n".join(f"{i}. {h}" for i, h in enumerate(entry.hints, start=1)), 1024))
        follow = [f"{q}: {self.kb.entries[q].prompt}" for q in entry.follow_ups
                  if q in self.kb.entries][:3]
        if follow:
            embed.add_field(name="Harder follow-ups", value=clip("\n".join(follow), 1024),
                            inline=False)
        view = discord.ui.View(timeout=None)
        for cand in candidates_of(night, interviewer)[:2]:  # 2 x 6 x 2 buttons fit in 25
            answer = rnd.answers.get(cand)
            if answer is None:
                status = "hasn't answered yet"
            else:
                marks = answer.marks or (None,) * len(entry.key_points)
                status = "answered · your marks: " + " ".join(
                    f"{i}{'✓' if m else '✗' if m is False else '·'}"
                    for i, m in enumerate(marks, start=1))
            embed.add_field(name="Candidate", value=f"<@{cand}> {status}", inline=False)
            for i in range(len(entry.key_points)):
                for value in (True, False):
                    view.add_item(MarkButton(night.id or 0, rnd.number, cand, i, value,
                                             f"{'✓' if value else '✗'} {i + 1}"))
        embed.set_footer(text="Mark each key point as your candidate covers it (✓) or not (✗).")
        return {"embed": embed, "view": view}

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
            raise app_commands.CheckFailure(
                "Only members with the Manage Events or Manage Server permission, or the host "
                "role an admin set with `/mock hostrole`, can host a mock night.")
        chosen: list[str] = []
        for word in (topics or "").replace(";", ",").split(","):
            if word.strip():
                topic = resolve_topic(word.strip(), self.kb.topics())
                if topic is None:
                    raise NightError(f"Unknown topic {word.strip()!r}: see `/topics`.")
                chosen.append(topic)
        now = time.time()
        night = Night(interaction.guild_id, interaction.channel_id, interaction.user.id, rounds,
                      seconds, difficulty and difficulty.value, tuple(chosen), created_at=now)
        self.pick(night)  # fail now, not at round 1, when nothing matches
        await self.store.save(night)
        assert night.id is not None
        self.nights[night.id] = night
        await interaction.response.send_message(**self.lobby_message(night))
        lobby = await interaction.original_response()
        thread = await lobby.create_thread(name=clip(f"Mock night #{night.id}", 100),
                                           auto_archive_duration=1440)
        night.thread_id, night.lobby_message_id = thread.id, lobby.id
        await self.store.save(night)
        self.ensure_timer(night)

    @app_commands.command(name="history", description="Past mock-interview nights here")
    async def history(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        past = await self.store.history(interaction.guild_id)
        lines = []
        for p in past:
            winner = f" · winner <@{p.winner_id}>" if p.winner_id else ""
            note = f" · {p.end_note}" if p.end_note else ""
            status = "" if p.ended_at else " · running"
            lines.append(f"**#{p.id}** <t:{int(p.created_at.timestamp())}:d> · host "
                         f"<@{p.host_id}> · {plural(p.rounds, 'round')} · "
                         f"{plural(p.players, 'player')}{winner}{status}{note}")
        embed = discord.Embed(title="Mock-interview nights", colour=discord.Colour.blurple(),
                              description=clip("\n".join(lines) or "No nights yet: a host can "
                                               "start one with `/mock start`.", 4096))
        await interaction.response.send_message(embed=embed, ephemeral=True)

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
        here = interaction.channel_id
        night = next((n for n in reversed(self.nights.values())
                      if here in (n.thread_id, n.channel_id)), None)
        if night is None:
            raise NightError("There is no mock night running here: start one with `/mock start`.")
        async with self.locks[night.id or 0]:
            if interviewer is not None and candidate is not None:
                pairs = assign_pair(night, interaction.user.id, interviewer.id, candidate.id)
            elif interviewer is not None or candidate is not None:
                raise NightError("Name both an interviewer and a candidate, or neither to pair "
                                 "everyone.")
            else:
                pairs = assign_pairs(night, interaction.user.id)
            await self.store.save(night)
        lines = [f"🎤 <@{i}> interviews <@{c}>" for i, c in pairs]
        embed = discord.Embed(title="Interviewer mode", colour=discord.Colour.purple(),
                              description="\n".join(lines))
        embed.set_footer(text="Interviewers: press Interviewer brief for the key points, hints "
                              "and follow-ups (only you see them). Candidates: press Answer.")
        await interaction.response.send_message(embed=embed,
                                                view=_view(night.id or 0, 0, ["brief"]))
        self.poke(night.id or 0, dirty=True)

    # --- buttons ------------------------------------------------------------------------------

    async def on_mark(self, interaction: discord.Interaction, night_id: int, round_number: int,
                      candidate: int, index: int, value: bool) -> None:
        night = await self.get(night_id)
        p = night.participants.get(candidate)
        if interaction.user.id not in (night.host_id, p and p.partner_id):
            raise NightError("Only this candidate's interviewer can mark their answer.")
        n_points = len(self.kb.entries[night.rounds[round_number - 1].question_id].key_points)
        async with self.locks[night_id]:
            answer = night.mark(round_number, candidate, index, value, n_points)
            await self.store.set_grade(night_id, round_number, answer)
        await interaction.response.edit_message(**self.brief_message(night, interaction.user.id))

    async def on_button(self, interaction: discord.Interaction, action: str, night_id: int,
                        round_number: int) -> None:
        night = await self.get(night_id)
        user, now = interaction.user, time.time()
        if action in ("join", "leave"):
            async with self.locks[night_id]:
                if action == "join":
                    who = night.join(user.id, user.display_name, now)
                else:
                    who = night.leave(user.id, now)
                await self.store.save_participant(night_id, who)
            await interaction.response.edit_message(**self.lobby_message(night))
            self.poke(night_id, dirty=True)  # the round's "n/m answered" changed
        elif action == "start":
            night.require_host(user.id, "start the night")
            if night.state != LOBBY:
                raise NightError("The night has already started.")
            if not night.present:
                raise NightError("Nobody has joined yet: press Join first.")
            await interaction.response.defer()
            await self.open_next(night)
            await interaction.edit_original_response(**self.lobby_message(night))
        elif action == "brief":
            p = night.participants.get(user.id)
            if p is None or p.role != "interviewer":
                raise NightError("The brief is for interviewers: candidates answer with Answer.")
            await interaction.response.send_message(**self.brief_message(night, user.id),
                                                    ephemeral=True)
        elif action == "answer":
            rnd = night.current
            if rnd is None or rnd.number != round_number or not rnd.open:
                raise NightError("That round is closed: wait for the next question.")
            if night.state == PAUSED:
                raise NightError("The night is paused: answer when the host resumes it.")
            if user.id in rnd.answers:
                raise NightError("You've already answered this round.")
            await interaction.response.send_modal(
                MockAnswerModal(night_id, rnd.number, self.kb.entries[rnd.question_id]))
        elif action in ("pause", "resume", "skip"):
            async with self.locks[night_id]:
                getattr(night, action)(user.id, now)
                if action == "skip" and night.is_last_round:
                    night.end(now, "The host skipped the last round.")
                await self.store.save(night)
            rnd = night.current
            if rnd is not None and interaction.message is not None \
                    and interaction.message.id == rnd.message_id:
                await interaction.response.edit_message(**self.round_message(night))
            else:  # pressed on a reveal: the round message is elsewhere
                await interaction.response.send_message(f"Done: {action}.", ephemeral=True)
                self.poke(night_id, dirty=True)
            if night.state == FINISHED:
                await self.finish(night)
            self.poke(night_id)
        elif action == "next":
            async with self.locks[night_id]:
                night.next(user.id, now)
                await self.store.save(night)
            await interaction.response.edit_message(view=None)
            self.poke(night_id)
        elif action == "end":
            async with self.locks[night_id]:
                night.end(now, "Ended early by the host.", by=user.id)
                await self.store.save(night)
            await interaction.response.send_message("Night ended.", ephemeral=True)
            await self.finish(night)

    # --- the answer form ------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        custom_id = (interaction.data or {}).get("custom_id", "")
        m = FORM_RE.fullmatch(custom_id)
        if m is None:
            return
        try:
            self.bot.check_rate(interaction.user.id)
            await self.take_answer(interaction, int(m["night"]), int(m["round"]))
        except Exception as exc:  # handed to the one error handler
            await self.bot.errors.interaction_failed(interaction, exc, where=f"modal {custom_id}")

    async def take_answer(self, interaction: discord.Interaction, night_id: int,
                          round_number: int) -> None:
        night = await self.get(night_id)
        text = modal_values((interaction.data or {}).get("components", [])).get(ANSWER_FIELD, "")
        user = interaction.user
        async with self.locks[night_id]:
            joined = user.id not in night.participants or not night.participants[user.id].present
            answer = night.submit(user.id, user.display_name, text, time.time(), round_number)
            try:
                await self.store.add_answer(night_id, round_number, answer)  # before anything
                if joined:
                    await self.store.save_participant(night_id, night.participants[user.id])
            except Exception:
                night.rounds[round_number - 1].answers.pop(user.id, None)
                raise
        await interaction.response.send_message(
            "Got it: your answer is in, hidden until the reveal.", ephemeral=True)
        task = asyncio.create_task(self.grade(night, round_number, user.id))
        self.bot.track(task)  # a stopping bot finishes it (stored already: else graded on resume)
        self.grading[night_id].add(task)
        task.add_done_callback(self.grading[night_id].discard)
        self.poke(night_id, dirty=True)

    async def grade(self, night: Night, round_number: int, user_id: int) -> None:
        rnd = night.rounds[round_number - 1]
        answer = rnd.answers[user_id]
        result = await self.bot.service.grade(rnd.question_id, answer.text)
        async with self.locks[night.id or 0]:
            night.record_grade(round_number, user_id, result.verdict, result.score,
                               [kp.covered for kp in result.key_points])
        await self.store.set_grade(night.id or 0, round_number, answer)
        try:  # the night counts for /review and /stats like any other answer
            await self.bot.progress.record_attempt(
                str(user_id), rnd.question_id, answer.text, result, answer.seconds,
                guild_id=str(night.guild_id))
        except StorageError as exc:
            log.warning("mock night %s: progress not recorded for %s: %s", night.id, user_id, exc)

    async def settle(self, night: Night) -> None:
        """Wait for the grades in flight, then grade answers stored but never graded (a restart
        between the two)."""
        pending = list(self.grading.get(night.id or 0, ()))
        if pending:
            await asyncio.wait(pending, timeout=120)
        rnd = night.current
        if rnd is not None:
            left = [uid for uid, a in rnd.answers.items() if not a.graded and a.text.strip()]
            results = await asyncio.gather(*(self.grade(night, rnd.number, uid) for uid in left),
                                           return_exceptions=True)
            for uid, r in zip(left, results, strict=True):
                if isinstance(r, Exception):
                    log.warning("mock night %s: grading %s failed: %s", night.id, uid, r)

    # --- the flow -------------------------------------------------------------------------------

    async def open_next(self, night: Night) -> None:
        async with self.locks[night.id or 0]:
            now = time.time()
            if night.state == LOBBY:
                rnd = night.start(night.host_id, self.pick(night), now)
            elif night.state == REVEAL and not night.is_last_round:
                rnd = night.open_round(self.pick(night), now)
            else:
                return
            await self.store.save(night)
            message = await self.thread(night).send(**self.round_message(night, now))
            rnd.message_id = message.id
            await self.store.save(night)
        self.ensure_timer(night)
        self.poke(night.id or 0)

    async def refresh_round(self, night: Night) -> None:
        rnd = night.current
        if rnd is None or rnd.message_id is None:
            return
        try:
            await self.thread(night).get_partial_message(rnd.message_id).edit(
                **self.round_message(night))
        except discord.HTTPException as exc:
            log.warning("mock night %s: could not update round %s: %s", night.id, rnd.number, exc)

    async def close_round(self, night: Night) -> None:
        async with self.locks[night.id or 0]:
            if night.state != OPEN:
                return
            night.close_round(time.time(), self.reveal_seconds)
            await self.store.save(night)
        await self.settle(night)
        await self.refresh_round(night)
        await self.thread(night).send(**self.reveal_message(night))
        if night.is_last_round:
            async with self.locks[night.id or 0]:
                if night.state != FINISHED:
                    night.end(time.time())
                    await self.store.save(night)
            await self.finish(night)

    async def finish(self, night: Night) -> None:
        """Post the final scoreboard (once) and forget the night."""
        if self.nights.pop(night.id or 0, None) is None:
            return
        await self.settle(night)
        if night.current and night.current.message_id:
            await self.refresh_round(night)
        scheduled = await self.scheduled_reviews(night)
        await self.thread(night).send(**self.final_message(night, scheduled))
        if night.lobby_message_id:
            with contextlib.suppress(discord.HTTPException):
                lobby = self.bot.get_partial_messageable(night.channel_id, guild_id=night.guild_id)
                await lobby.get_partial_message(night.lobby_message_id).edit(
                    **self.lobby_message(night))
        self.wake[night.id or 0].set()

    async def scheduled_reviews(self, night: Night) -> dict[int, set[str]]:
        """Per player, tonight's questions that have a review schedule (a graded answer was
        recorded), so the scoreboard promises `/review` only for those."""
        out: dict[int, set[str]] = {}
        asked = set(night.asked)
        for uid in night.participants:
            try:
                out[uid] = asked & await self.bot.progress.seen_question_ids(str(uid))
            except StorageError as exc:
                log.warning("mock night %s: reviews of %s unknown: %s", night.id, uid, exc)
                out[uid] = set()
        return out

    async def run_timer(self, night_id: int) -> None:
        """Acts on the stored deadline: closes rounds, starts the next one, edits the countdown."""
        await self.bot.wait_until_ready()
        last_edit = 0.0
        event = self.wake[night_id]
        while not self.closing and (night := self.nights.get(night_id)) is not None \
                and night.state != FINISHED:
            event.clear()
            now = time.time()
            try:
                action = night.due(now)
                if action == "close":
                    await self.close_round(night)
                    continue
                if action == "next":
                    await self.open_next(night)
                    last_edit = time.time()
                    continue
                stale = now - last_edit
                if night.state in (OPEN, PAUSED) and (
                        (night_id in self.dirty and stale >= self.refresh_after)
                        or (night.state == OPEN and stale >= self.countdown_every)):
                    self.dirty.discard(night_id)
                    await self.refresh_round(night)
                    last_edit = now
            except Exception:  # keep the night alive; the next wake-up tries again
                log.exception("mock night %s: timer step failed", night_id)
                await asyncio.sleep(1.0)
            wait = self.countdown_every - (time.time() - last_edit)
            if night_id in self.dirty:
                wait = min(wait, self.refresh_after - (time.time() - last_edit))
            if night.deadline is not None:
                wait = min(wait, night.deadline - time.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, wait)):  # not wait_for: it can eat a cancel
                    await event.wait()

    async def resume_all(self) -> None:
        """Pick up every unfinished night of this process's servers after a restart."""
        await self.bot.wait_until_ready()
        for night_id in await self.store.unfinished():
            night = await self.store.load(night_id)
            if night_id in self.nights:
                continue  # started since this process came up: the live copy is the truth
            if night is None or self.bot.get_guild(night.guild_id) is None:
                continue  # another shard process's server, or the bot left it
            try:
                missing = [q for q in night.asked if q not in self.kb.entries]
                if missing:
                    raise NightError(f"question {missing[0]} is no longer in the knowledge base")
                self.nights[night_id] = night
                if night.state != LOBBY:
                    await self.thread(night).send(
                        "I restarted: this night carries on where it was (a round whose time "
                        "ran out meanwhile is revealed now).")
                self.ensure_timer(night)
            except Exception as exc:  # cannot carry on: close it cleanly, results kept
                log.warning("mock night %s could not resume: %s", night_id, exc)
                self.nights[night_id] = night
                if night.state != FINISHED:
                    night.end(time.time(), f"Closed after a restart ({exc}); results so far "
                                           "are saved.")
                    await self.store.save(night)
                with contextlib.suppress(Exception):
                    await self.finish(night)
                self.nights.pop(night_id, None)
