"""Terminal rendering of grades and follow-up answers (rich). Text only: no computing here."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from bot.domain.enums import DIFFICULTY_NAMES
from bot.domain.results import AskResult, GradeResult
from knowledge.schema import Entry

VERDICT_STYLE = {"correct": "bold green", "partial": "bold yellow", "incorrect": "bold red"}


def score_bar(score: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, score)) * width)
    return "█" * filled + "░" * (width - filled)


def render_question(console: Console, entry: Entry, group: str | None = None) -> None:
    level = DIFFICULTY_NAMES[entry.difficulty.value]
    topics = ", ".join(entry.topic_names)
    console.print(f"\n[bold cyan]{entry.id}[/] [dim]({level}; {topics})[/]")
    if group:
        console.print(f"[dim]{escape(group)}[/]")
    console.print(f"[bold]{escape(entry.prompt)}[/]")


def render_verdict(console: Console, result: GradeResult, context: str = "",
                   similarities: bool = False, count: bool = False) -> None:
    """Verdict, score bar, notes, key points covered or missed, and misconceptions with their
    corrections: the part of a grade every front end shows the same way."""
    style = VERDICT_STYLE[result.verdict]
    console.print(f"\n[{style}]{result.verdict.upper()}[/]  {score_bar(result.score)} "
                  f"{result.score:.0%}{context}")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if count:
        covered = sum(kp.covered for kp in result.key_points)
        required = [kp for kp in result.key_points if kp.required]
        console.print(f"[bold]Key points[/] ({covered} of {len(result.key_points)} covered; "
                      f"{sum(kp.covered for kp in required)} of {len(required)} required)")
    for kp in result.key_points:
        mark = "[green]✓[/]" if kp.covered else "[red]✗ contradicted:[/]" if kp.contradicted else "[red]✗[/]"
        bonus = "" if kp.required else " [dim](bonus)[/]"
        similarity = f" [dim]({kp.similarity:.2f})[/]" if similarities else ""
        console.print(f"  {mark} {escape(kp.text)}{bonus}{similarity}")
    for wrong in result.misconceptions:
        console.print(f"  [red]! You said:[/] {escape(wrong.text)}")
        console.print(f"    [yellow]Correction:[/] {escape(wrong.correction)}")


def render_grade(console: Console, entry: Entry, result: GradeResult, show_reference: bool = True) -> None:
    render_verdict(console, result, similarities=True)
    console.print(f"\n{escape(result.feedback)}")
    if show_reference:
        console.print(f"\n[bold]Reference answer[/]\n{escape(result.reference_answer)}")
    if entry.demos:
        console.print("\n[bold]Demo:[/] " + ", ".join(f"gradcheck demo run {d}" for d in entry.demos))


def render_ask(console: Console, result: AskResult) -> None:
    style = "green" if result.confident else "yellow"
    console.print(f"[{style}]{escape(result.answer)}[/]")
    if result.results:
        console.print("[dim]Matches: " + ", ".join(
            f"{h.question_id} ({h.score:.2f})" for h in result.results) + "[/]")
