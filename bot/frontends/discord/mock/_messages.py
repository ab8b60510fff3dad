"""What a mock night looks like on Discord: lobby, round, reveal, scoreboard, interviewer brief.
Pure builders: a night and the knowledge base in, message keyword arguments out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import discord

from bot.domain.enums import Role
from bot.frontends.discord.embeds import question_embed
from bot.frontends.discord.logic import clip, plural
from bot.frontends.discord.mock._views import MarkButton, night_view
from bot.storage.mock import PastNight
from bot.tutor.night import FINISHED, LOBBY, PAUSED, Night, NightError, missed_most
from bot.tutor.pairs import candidates_of, human_vs_auto
from knowledge.loader import KnowledgeBase

VERDICT_MARK = {"correct": "✅", "partial": "🟨", "incorrect": "❌"}
MEDALS = ("🥇", "🥈", "🥉")


def lobby_message(night: Night) -> dict[str, Any]:
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
            "view": night_view(night.id or 0, 0, actions, disabled=night.state == FINISHED)}


def round_message(kb: KnowledgeBase, night: Night, now: float | None = None) -> dict[str, Any]:
    rnd = night.current
    assert rnd is not None and night.id is not None
    entry = kb.entries[rnd.question_id]
    now = time.time() if now is None else now
    embed = question_embed(
        entry, kb.groups.get(entry.parent or ""),
        title=f"Round {rnd.number} of {night.rounds_total} · {entry.id}",
        footer="Press Answer: answers are private until the reveal.")
    answered = [f"<@{uid}>" for uid in rnd.answers]  # who, never what
    expected = [p for p in night.present if p.role is not Role.INTERVIEWER]
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
    return {"embed": embed, "view": night_view(night.id, rnd.number, actions)}


def reveal_message(kb: KnowledgeBase, night: Night, reveal_seconds: float) -> dict[str, Any]:
    rnd = night.current
    assert rnd is not None and night.id is not None
    entry = kb.entries[rnd.question_id]
    lines = [
        f"{i}. <@{a.user_id}> {VERDICT_MARK.get(a.verdict or '', '')} "
        f"**{(a.score or 0):.0%}** · {a.seconds:.0f} s"
        for i, a in enumerate(night.ranking(rnd), start=1)
    ]
    silent = [f"<@{p.user_id}>" for p in night.present
              if p.user_id not in rnd.answers and p.role is not Role.INTERVIEWER]
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
    embed.set_footer(text=f"Next round in {reveal_seconds:.0f} s, or when the host "
                          "presses Next round.")
    return {"embed": embed, "view": night_view(night.id, rnd.number, ["next", "pause", "end"])}


def final_message(kb: KnowledgeBase, night: Night, scheduled: dict[int, set[str]] | None = None
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
    topics_of = {qid: kb.entries[qid].topic_names for qid in night.asked
                 if qid in kb.entries}
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
    cards = scorecard(night)
    if cards:
        embed.add_field(name="Scorecard: interviewer marks beside the grader", inline=False,
                        value=clip("\n".join(cards), 1024))
    return {"embed": embed}


def scorecard(night: Night) -> list[str]:
    """Interviewer mode: per candidate and round, the human's key points beside the grader's."""
    lines = []
    for rnd in night.rounds:
        for a in rnd.answers.values():
            p = night.participants.get(a.user_id)
            if p is None or p.role is not Role.CANDIDATE:
                continue
            human, auto, n = human_vs_auto(a)
            marked = f"interviewer <@{p.partner_id}> {human}/{n}" if a.marks else \
                "interviewer: not marked"
            grade = f"grader {auto}/{n} ({(a.score or 0):.0%})" if a.graded else "not graded"
            lines.append(f"<@{a.user_id}> round {rnd.number}: {marked} · {grade}")
    return lines


def brief_message(kb: KnowledgeBase, night: Night, interviewer: int) -> dict[str, Any]:
    """The interviewer's private brief: question, key points, hints, follow-ups, marks."""
    rnd = night.current
    if rnd is None:
        raise NightError("The first question isn't out yet: press this again once it is.")
    entry = kb.entries[rnd.question_id]
    embed = discord.Embed(title=f"Interviewer brief · round {rnd.number} · {entry.id}",
                          description=f"**{entry.prompt}**", colour=discord.Colour.purple())
    embed.add_field(name="Key points", inline=False, value=clip("\n".join(
        f"{i}. {kp.text}{'' if kp.required else ' (bonus)'}"
        for i, kp in enumerate(entry.key_points, start=1)), 1024))
    embed.add_field(name="Hint ladder (give them in order)", inline=False, value=clip(
        "\n".join(f"{i}. {h}" for i, h in enumerate(entry.hints, start=1)), 1024))
    follow = [f"{q}: {kb.entries[q].prompt}" for q in entry.follow_ups
              if q in kb.entries][:3]
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


def pairs_message(night: Night, pairs: Sequence[tuple[int, int | None]]) -> dict[str, Any]:
    embed = discord.Embed(title="Interviewer mode", colour=discord.Colour.purple(),
                          description="\n".join(f"🎤 <@{i}> interviews <@{c}>" for i, c in pairs))
    embed.set_footer(text="Interviewers: press Interviewer brief for the key points, hints "
                          "and follow-ups (only you see them). Candidates: press Answer.")
    return {"embed": embed, "view": night_view(night.id or 0, 0, ["brief"])}


def history_embed(past: Sequence[PastNight]) -> discord.Embed:
    lines = []
    for p in past:
        winner = f" · winner <@{p.winner_id}>" if p.winner_id else ""
        note = f" · {p.end_note}" if p.end_note else ""
        status = "" if p.ended_at else " · running"
        lines.append(f"**#{p.id}** <t:{int(p.created_at.timestamp())}:d> · host "
                     f"<@{p.host_id}> · {plural(p.rounds, 'round')} · "
                     f"{plural(p.players, 'player')}{winner}{status}{note}")
    return discord.Embed(title="Mock-interview nights", colour=discord.Colour.blurple(),
                         description=clip("\n".join(lines) or "No nights yet: a host can "
                                          "start one with `/mock start`.", 4096))
