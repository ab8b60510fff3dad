"""How the terminal tutor shows things: questions, hints, feedback, stats, topics, demos (rich)."""

from __future__ import annotations

import re
from dataclasses import replace

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.domain.results import AskResult
from bot.frontends import render
from bot.tutor.demos import DemoRun
from bot.tutor.feedback import Feedback, Hint, Question, Reveal, TopicSummary
from bot.tutor.progress import UserStats


def show_question(console: Console, q: Question) -> None:
    render.render_question(console, q.entry, q.group)
    hints = f"{q.hints_total} hints available (/hint)"
    reason = q.reason[:1].upper() + q.reason[1:]
    if q.note:
        console.print(f"[yellow]{escape(q.note)}[/]")
    console.print(f"[dim]{escape(reason)}. {hints}; answer in your own words.[/]")


def show_hint(console: Console, hint: Hint) -> None:
    console.print(f"[magenta]Hint {hint.number}/{hint.total}:[/] {escape(hint.text)}")
    console.print(f"[dim]Best possible score now {hint.max_score:.0%}.[/]")


def show_feedback(console: Console, fb: Feedback) -> None:
    r = fb.result
    hints = f", {plural(r.hints_used, 'hint')}" if r.hints_used else ""
    render.render_verdict(console, r, f"  [dim]({fb.entry.id}, {fb.seconds:.0f}s{hints})[/]",
                          count=True)
    if fb.review_progress:
        console.print("[bold]Missed last time[/]")
        for text, now_covered in fb.review_progress:
            mark = "[green]✓ now covered[/]" if now_covered else "[red]✗ still missing[/]"
            console.print(f"  {mark}: {escape(text)}")
    console.print(f"\n{escape(fb.advice)}")
    console.print(f"\n[bold]Reference answer[/]\n{escape(fb.reference_answer)}")
    for point in fb.newly_mastered:
        console.print(f"[green]Mastered:[/] {escape(point)}")
    show_followups(console, fb.entry, fb.related)
    if fb.save_error:
        console.print(f"[red]Not saved:[/] {escape(fb.save_error)}")
    elif fb.recorded:
        days = round(fb.recorded.review.interval_days)
        console.print(f"[dim]Saved. Next review of {fb.entry.id} in {plural(days, 'day')}. "
                      "/next for another question.[/]")


def show_followups(console: Console, entry, related) -> None:
    if entry.demos:
        console.print(f"[bold]Demo:[/] {escape(', '.join('/demo ' + d for d in entry.demos))}")
    if related is not None:
        console.print(f"[bold]Try next:[/] {related.id} - {escape(related.prompt)} "
                      f"[dim](/quiz {related.id})[/]")


def show_reveal(console: Console, rv: Reveal) -> None:
    console.print(f"\n[bold]Reference answer for {rv.entry.id}[/]\n{escape(rv.reference_answer)}")
    console.print("[bold]Key points[/]")
    for kp in rv.entry.key_points:
        tag = "" if kp.required else " [dim](bonus)[/]"
        console.print(f"  • {escape(kp.text)}{tag}")
    show_followups(console, rv.entry, None)
    if rv.save_error:
        console.print(f"[red]Not saved:[/] {escape(rv.save_error)}")
    else:
        console.print("[dim]Recorded as a missed attempt (score 0): it comes back for review "
                      "tomorrow. /next for another question.[/]")


_CLI_DEMO = re.compile(r"gradcheck demo run (\w+)")


def show_ask(console: Console, result: AskResult, context_id: str | None) -> None:
    if context_id:
        console.print(f"[dim](follow-up in the context of {context_id})[/]")
    # The retriever names demos as shell commands; inside the chat it is /demo NAME.
    render.render_ask(console, replace(result, answer=_CLI_DEMO.sub(r"/demo \1", result.answer)))


def show_stats(console: Console, s: UserStats) -> None:
    console.print(f"\n[bold]Progress of {escape(s.user_id)}[/]")
    console.print(f"  Attempts: {s.attempts} ({s.correct} correct), "
                  f"average score {s.average_score:.0%}")
    console.print(f"  Streak: {plural(s.current_streak, 'day')} (best {s.best_streak})")
    console.print(f"  Questions tried: {s.questions_attempted} of {s.questions_total}; "
                  f"due for review now: {s.due_count}")
    console.print(f"  {escape(s.readiness_summary)}")
    table = Table(title="Mastery by topic", title_justify="left", show_edge=False)
    for col, justify in (("topic", "left"), ("mastered", "right"), ("learning", "right"),
                         ("key points", "right"), ("questions tried", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for t in s.topics:
        table.add_row(t.topic, str(t.mastered), str(t.learning), str(t.total),
                      f"{t.questions_attempted} of {t.questions_total}")
    console.print(table)
    if s.due_count:
        console.print("[dim]/review asks the most overdue question.[/]")


def show_topics(console: Console, rows: list[TopicSummary], stats: UserStats | None) -> None:
    mastery = {t.topic: t for t in stats.topics} if stats else {}
    table = Table(title="Topics", title_justify="left", show_edge=False)
    for col in ("topic", "questions", "easy", "medium", "hard", "key points mastered"):
        table.add_column(col, justify="left" if col == "topic" else "right")
    for row in rows:
        t = mastery.get(row.topic)
        you = f"{t.mastered} of {t.total}" if t else ""
        table.add_row(row.topic, str(row.questions), *(str(row.by_difficulty[d]) for d in "EMH"),
                      you)
    console.print(table)
    console.print("[dim]/quiz <topic> \\[easy|medium|hard], e.g. /quiz optimization easy[/]")


def show_demo_list(console: Console, demos) -> None:
    console.print(f"[bold]{len(demos)} NumPy demos[/]")
    for d in demos.values():
        console.print(f"  [bold]{d.name:24}[/] {escape(d.title)} [dim]({', '.join(d.question_ids)})[/]")
    console.print("[dim]/demo <name> runs one, e.g. /demo zero_init; /demo alone runs the demo of "
                  "the current question.[/]")


def show_demo(console: Console, run: DemoRun) -> None:
    # The demo names its plots on "plot: <path>" lines; they are listed once, below.
    output = [line for line in run.output.rstrip().splitlines() if not line.startswith("plot:")]
    if output:
        console.print(escape("\n".join(output)))
    if not run.ok and run.stderr.strip():
        console.print(f"[red]{escape(run.stderr.strip().splitlines()[-1])}[/]")
    status = "[green]passed[/]" if run.ok else "[red]FAILED[/]"
    console.print(f"[bold]{run.name}[/] {status} in {run.seconds:.1f}s")
    for plot in run.plots:
        console.print(f"  plot saved: {escape(str(plot))}")


def welcome(console: Console, user: str, stats: UserStats, questions: int) -> None:
    if stats.attempts == 0:
        console.print(
            f"\n[bold]Welcome to gradcheck, {escape(user)}![/] I ask machine-learning interview "
            f"questions ({questions} on training neural networks), grade your answer in your own "
            "words against a reference, and show what was missing.\n"
            "Type [bold]/quiz[/] for your first question (or [bold]/quiz optimization easy[/]), "
            "then write your answer as plain text and press Enter "
            "(/help says how to write several lines or code).\n"
            "[bold]/hint[/] gives a hint, [bold]? your question[/] asks me anything, "
            "[bold]/help[/] lists every command, [bold]/quit[/] leaves. "
            "Your progress is saved after every answer."
        )
        return
    due = (f" {plural(stats.due_count, 'question')} due for review: type /review."
           if stats.due_count else " Type /quiz for a question.")
    console.print(f"\n[bold]Welcome back, {escape(user)}.[/] {plural(stats.attempts, 'attempt')} "
                  f"so far. {escape(stats.readiness_summary)}{due} /help lists every command.")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- the app ----------------------------------------------------------------------------------


