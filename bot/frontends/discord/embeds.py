"""Discord embeds for questions, grades, answers and stats. Formatting only: nothing is computed here
that the tutor core does not already report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import discord

from bot.domain.enums import DIFFICULTY_NAMES
from bot.domain.results import AskResult
from bot.frontends.discord.logic import clip, plural
from bot.frontends.render import score_bar
from bot.storage.progress import DueReview, LeaderboardRow, TopicMastery, UserStats
from bot.tutor.demos import DemoRun
from bot.tutor.feedback import Feedback
from knowledge.loader import DemoInfo, KnowledgeBase
from knowledge.schema import CHAPTER_URL, Entry

DIFFICULTY_COLOUR = {"E": discord.Colour.green(), "M": discord.Colour.gold(), "H": discord.Colour.red()}
VERDICT = {
    "correct": ("✅", "Correct", discord.Colour.green()),
    "partial": ("🟨", "Partly right", discord.Colour.gold()),
    "incorrect": ("❌", "Not quite", discord.Colour.red()),
}
FIELD = 1024  # Discord's limit for a field value
DESCRIPTION = 4096


def _lines(lines: Sequence[str], limit: int = FIELD) -> str:
    """Join lines into one field, dropping whole lines (with a count) rather than cutting one."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        room = limit if i == len(lines) - 1 else limit - 20  # room for "… and N more"
        if used + len(line) + 1 > room:
            out.append(f"… and {len(lines) - i} more")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out) or "—"


def question_embed(
    entry: Entry,
    group: str | None = None,
    *,
    hints: int = 0,
    revealed: bool = False,
    title: str | None = None,
    footer: str = "Press Answer, or reply to this message with your answer.",
) -> discord.Embed:
    level = entry.difficulty.value
    embed = discord.Embed(
        title=title or f"Question {entry.id}",
        description=(f"*{group}*\n" if group else "") + f"**{entry.prompt}**",
        colour=DIFFICULTY_COLOUR[level],
        url=entry.book_url,
    )
    embed.add_field(name="Id", value=entry.id, inline=True)
    embed.add_field(name="Difficulty", value=DIFFICULTY_NAMES[level], inline=True)
    embed.add_field(name="Topic", value=", ".join(entry.topic_names), inline=True)
    for i, hint in enumerate(entry.hints[:hints], start=1):
        embed.add_field(name=f"Hint {i}", value=clip(hint, FIELD), inline=False)
    if revealed:
        embed.add_field(name="Reference answer", value=clip(entry.reference_answer, FIELD), inline=False)
        footer = "Revealed: press Skip for another question."
    embed.set_footer(text=footer)
    return embed


def demo_line(demos: Sequence[str], base_url: str | None) -> str | None:
    if not demos:
        return None
    if base_url:
        return " · ".join(f"[{d}]({base_url.rstrip('/')}/{d}.py)" for d in demos)
    return " · ".join(f"`/demo {d}`" for d in demos)


def graded_embed(
    feedback: Feedback,
    *,
    who: str | None = None,
    demos: Sequence[str] = (),
    demo_base_url: str | None = None,
) -> discord.Embed:
    entry, result = feedback.entry, feedback.result
    mark, word, colour = VERDICT[result.verdict]
    bar = f"`{score_bar(result.score)}` **{result.score:.0%}**"
    # The advice, not the grader's feedback: that lists the key points the field below shows
    # (when nothing matched, the advice is the grader's own explanation).
    embed = discord.Embed(
        title=f"{mark} {word} · {entry.id}",
        description=clip(f"{bar}\n\n{feedback.advice}", DESCRIPTION),
        colour=colour,
    )
    if who:
        embed.set_author(name=clip(f"{who}'s answer", 256))
    points = [f"{'✓' if kp.covered else '✗'} {'contradicted: ' if kp.contradicted else ''}"
              f"{clip(kp.text, 200)}{'' if kp.required else ' (bonus)'}" for kp in result.key_points]
    covered = sum(kp.covered for kp in result.key_points)
    embed.add_field(
        name=f"Key points ({covered}/{len(result.key_points)})", value=_lines(points), inline=False
    )
    if result.misconceptions:
        wrong = [
            f"✗ {clip(m.text, 180)}\n→ **Correction:** {clip(m.correction, 300)}"
            for m in result.misconceptions
        ]
        embed.add_field(name="Misconceptions", value=_lines(wrong), inline=False)
    if feedback.newly_mastered:
        embed.add_field(name="Newly mastered",
                        value=_lines([f"⭐ {clip(k, 200)}" for k in feedback.newly_mastered]))
    notes = list(result.notes)
    if feedback.save_error:
        notes.append(f"Not saved: {feedback.save_error}")
    if notes:
        embed.add_field(name="Notes", value=_lines([clip(n, 300) for n in notes]), inline=False)
    line = demo_line(demos, demo_base_url)
    if line:
        embed.add_field(name="Demo", value=line, inline=False)
    embed.set_footer(
        text=f"{entry.id} · Show reference for the model answer · reply here to ask a follow-up"
    )
    return embed


def reference_embed(entry: Entry) -> discord.Embed:
    return discord.Embed(
        title=f"Reference answer · {entry.id}",
        description=clip(entry.reference_answer, DESCRIPTION),
        colour=discord.Colour.blurple(),
        url=entry.book_url,
    )


_CLI_DEMO = re.compile(r"gradcheck demo run (\w+)")


def ask_embed(result: AskResult, kb: KnowledgeBase) -> discord.Embed:
    best = kb.get(result.results[0].question_id) if result.results else None
    answer = _CLI_DEMO.sub(r"`/demo \1`", result.answer)  # the retriever speaks terminal
    embed = discord.Embed(
        title="Here is what the notes say" if result.confident else "I'm not sure",
        description=clip(answer, DESCRIPTION),
        colour=discord.Colour.blurple() if result.confident else discord.Colour.light_grey(),
    )
    if best is not None and result.confident:
        embed.add_field(name="Question", value=f"{best.id}: {clip(best.prompt, 200)}", inline=False)
        embed.add_field(name="Book", value=f"[Chapter 8.3]({best.book_url})", inline=False)
    elif result.results:
        closest = [f"{h.question_id}: {clip(h.prompt, 150)}" for h in result.results]
        embed.add_field(name="Closest topics", value=_lines(closest), inline=False)
        embed.add_field(name="Book", value=f"[Chapter 8.3]({CHAPTER_URL})", inline=False)
    embed.set_footer(text=clip(f"You asked: {result.query}", 2048))
    return embed


def demo_embed(
    demo: DemoInfo, run: DemoRun, base_url: str | None, attached: Sequence[str]
) -> discord.Embed:
    status = "ran and passed its self-checks" if run.ok else f"failed (exit code {run.returncode})"
    embed = discord.Embed(
        title=f"Demo: {demo.name}",
        description=f"{demo.title}\n\nIt {status} in {run.seconds:.1f}s.",
        colour=discord.Colour.green() if run.ok else discord.Colour.red(),
        url=f"{base_url.rstrip('/')}/{demo.name}.py" if base_url else None,
    )
    if demo.question_ids:
        embed.add_field(name="Answers", value=", ".join(demo.question_ids), inline=False)
    text = run.output if run.ok else (run.stderr or run.output)
    # "plot: <path>" lines are for the runner (local paths); the plots are attached instead.
    tail = "\n".join(line for line in text.splitlines() if not line.startswith("plot:")).strip()
    if tail:
        embed.add_field(name="Output (end)", value=f"```\n{tail[-(FIELD - 10):]}\n```", inline=False)
    if attached:
        embed.add_field(name="Attached", value=", ".join(attached), inline=False)
    pngs = [name for name in attached if name.endswith(".png")]
    if pngs:
        embed.set_image(url=f"attachment://{pngs[0]}")
    return embed


def stats_embed(stats: UserStats, weakest: Sequence[TopicMastery], who: str) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"{who}'s progress", 256),
        description=stats.readiness_summary,
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name="Readiness", value=f"`{score_bar(stats.readiness / 100)}` {stats.readiness}/100")
    embed.add_field(
        name="Answers",
        value=f"{stats.attempts} ({stats.correct} correct), average {stats.average_score:.0%}",
    )
    embed.add_field(
        name="Questions", value=f"{stats.questions_attempted} of {stats.questions_total} tried"
    )
    embed.add_field(
        name="Streak", value=f"{plural(stats.current_streak, 'day')} (best {stats.best_streak})"
    )
    embed.add_field(name="Due for review", value=str(stats.due_count))
    if weakest:
        embed.add_field(name="Weakest topics", value=_lines([str(t) for t in weakest]), inline=False)
    return embed


def review_embed(due: Sequence[DueReview], kb: KnowledgeBase, now: datetime) -> discord.Embed:
    if not due:
        return discord.Embed(
            title="Nothing due for review",
            description="You're up to date. Try `/quiz` for a new question.",
            colour=discord.Colour.green(),
        )
    lines = []
    for item in due:
        entry = kb.get(item.question_id)
        if entry is None:
            continue
        missed = f" · {len(item.missed_key_points)} key point(s) to revisit" if item.missed_key_points else ""
        lines.append(f"**{entry.id}** {clip(entry.prompt, 120)}{missed}")
    return discord.Embed(
        title=f"{len(lines)} question(s) due for review",
        description=_lines(lines, DESCRIPTION),
        colour=discord.Colour.gold(),
    ).set_footer(text="Press a button to answer one now.")


def leaderboard_embed(
    guild_name: str, week: Sequence[LeaderboardRow], all_time: Sequence[LeaderboardRow]
) -> discord.Embed:
    def table(rows: Sequence[LeaderboardRow]) -> str:
        if not rows:
            return "No answers yet."
        return _lines(
            [f"{i}. <@{r.user_id}> · {r.points:.1f} points ({plural(r.attempts, 'answer')})"
             for i, r in enumerate(rows, start=1)]
        )

    embed = discord.Embed(title=clip(f"Leaderboard · {guild_name}", 256), colour=discord.Colour.gold())
    embed.add_field(name="This week", value=table(week), inline=False)
    embed.add_field(name="All time", value=table(all_time), inline=False)
    embed.set_footer(text="Points are the sum of answer scores (0-1 each).")
    return embed


def topics_embed(kb: KnowledgeBase, mastery: Sequence[TopicMastery] = ()) -> discord.Embed:
    by_topic = {t.topic: t for t in mastery}
    counts = kb.summary()["topics"]
    lines = []
    for topic in kb.topics():
        mine = by_topic.get(topic)
        extra = f" · {mine.mastered}/{mine.total} key points mastered" if mine else ""
        lines.append(f"**{topic}**: {plural(counts[topic], 'question')}{extra}")
    return discord.Embed(
        title="Topics",
        description=_lines(lines, DESCRIPTION),
        colour=discord.Colour.blurple(),
    ).set_footer(text="/quiz topic:<name> asks one of them.")


HELP = """\
**/quiz** `[topic] [difficulty] [mode] [id]` — a question with buttons: Answer, Hint, Reveal, \
Skip, Demo. You can also reply to the question with your answer. `mode`: new (default), review \
(questions due), weak (your weakest topic) or cram (any, ignoring the schedule); `id`: one \
question by its id (start typing to search).
**/ask** `<question>` — an answer from the notes, with the question id and the book link.
**@gradcheck** `<question>` — a follow-up; reply to a graded answer to ask about that question.
**/demo** `<name>` — runs a NumPy demo and attaches its output and plot.
**/review** — questions due for spaced repetition.
**/stats** — your progress and readiness. **/topics** — what there is to practise.
**/leaderboard** — this server, this week and all time.
**/forgetme** — deletes everything stored about you (asks first).
**/qotd set** `<channel> <time>` — (Manage Server) a question of the day, posted at a UTC time, \
with a thread where every answer is graded. **/qotd show** — where and when it is posted. \
**/qotd off** — (Manage Server) stops it.
**/mock start** `[rounds] [difficulty] [topics] [seconds]` — (host) a group mock-interview night in a thread: timed rounds, private answers, a reveal and a scoreboard. **/mock history** — past nights. **/mock pairs** — (host) interviewer mode."""


def help_embed() -> discord.Embed:
    return discord.Embed(title="gradcheck: practise ML interview questions", description=HELP,
                         colour=discord.Colour.blurple())
