"""`gradcheck chat`: the terminal tutor, a thin layer over bot.tutor.session.

On a terminal (stdin and stdout both TTYs) input goes through a line editor (bot.frontends.terminal.line_editor,
prompt_toolkit): editing, history, multi-line answers, pasted blocks kept whole, ``` code blocks.
Piped input is read line by line (a trailing backslash continues a line), so scripts and tests
drive it like a person. Output is coloured on a terminal and plain text (no ANSI codes) when
piped. Every graded answer is committed before its feedback is printed, so Ctrl-C or end of input
never loses more than the answer being graded. Ctrl-C while an answer is graded leaves; at the
line editor it clears what was typed (on an empty line it leaves). Exit codes: 0 (including
Ctrl-C / end of input), 2 when the progress database cannot be used (it is never reset or
touched).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape

from bot.app.service import GradingService
from bot.app.settings import Settings, get_settings
from bot.domain.errors import StorageError, UserError, closest
from bot.frontends.terminal.show import (
    plural,
    show_ask,
    show_demo,
    show_demo_list,
    show_feedback,
    show_hint,
    show_question,
    show_reveal,
    show_stats,
    show_topics,
    welcome,
)
from bot.storage.progress import ProgressStore
from bot.tutor.chooser import MODES
from bot.tutor.demos import run_demo
from bot.tutor.intents import MAX_QUESTION_WORDS
from bot.tutor.session import TutorSession

if TYPE_CHECKING:
    from bot.frontends.terminal.line_editor import LineEditor

log = logging.getLogger(__name__)

EXIT_OK, EXIT_STORAGE = 0, 2
ECHO_LIMIT = 300  # piped input is echoed (so a transcript reads like a conversation), shortened

HELP = f"""[bold]Commands[/]
  /quiz \\[topic] \\[difficulty] \\[mode]  ask a question, e.g. /quiz, /quiz optimization easy,
                                     /quiz 8.3.44 (a question id or its sub-questions)
        modes: new (default: unseen first), review (due by the schedule),
               weak (your weakest topic), cram (random, ignores the schedule)
  /hint      the next hint (each one lowers the best score by 15 points)
  /reveal    show the reference answer (counts as a missed attempt: it comes back tomorrow)
  /skip      drop this question without recording it, and ask another
  /next      ask another question with the same filters
  /ask Q     ask a follow-up question (also: start a line with ?)
  /demo \\[name]  run the NumPy demo of this question (or the one named) and show its output
             and plots; /demo list lists them all
  /review    the question most overdue for review
  /stats     attempts, streak, mastery per topic, readiness
  /topics    the topics, with question counts
  /forget    delete all your progress (asks for confirmation)
  /help      this text        /quit  leave (progress is saved after every answer)

[bold]Answer or question?[/] With a question open, a plain line is your [bold]answer[/]. It is a
follow-up question instead when it starts with ? or /ask, or when it is short (at most
{MAX_QUESTION_WORDS} words), ends with ? and starts with a question word (what, why, how, when,
where, which, who, is, are, can, do, does, did, should, could, would, will).
Follow-up questions are answered in the context of the open question.

[bold]Typing an answer[/] [bold]Enter[/] sends. [bold]Alt+Enter[/] (or Esc then Enter) starts a
new line, so an answer can have several lines; so does Enter on a line ending with \\.
Pasted text is kept whole, newlines included: check it, then press Enter.
A line starting with ``` opens a code block: Enter adds lines until the closing ```, and
Enter on that line sends the answer. Up/Down recall earlier input, Ctrl-R searches it,
Tab completes commands, Ctrl-C clears what you typed, Ctrl-D leaves.
Piped input is read one line per answer; end a line with \\ to continue it on the next, and
a ``` code block is read whole, to its closing ```."""

COMMANDS = ["quiz", "hint", "reveal", "skip", "next", "ask", "demo", "review", "stats", "topics",
            "forget", "help", "quit"]
ALIASES = {"exit": "quit", "q": "quit", "h": "help", "?": "help", "r": "review"}


def make_console(stream: TextIO) -> Console:
    """Colour on a terminal; on a pipe plain text, long lines left unwrapped for the reader."""
    tty = _isatty(stream)
    return Console(file=stream, force_terminal=tty, color_system="auto" if tty else None,
                   highlight=False, soft_wrap=not tty, emoji=False)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still usable
        return "me"


# --- rendering --------------------------------------------------------------------------------


class TerminalApp:
    """Dispatches one line at a time to the session and prints the result."""

    def __init__(self, console: Console, session: TutorSession, store: ProgressStore,
                 settings: Settings):
        self.console = console
        self.session = session
        self.store = store
        self.settings = settings
        self._forget_armed = False

    async def handle(self, line: str) -> bool:
        """Process one line; False means quit."""
        intent = self.session.intent(line)
        try:
            if intent.kind == "empty":
                return True
            if intent.kind == "command":
                return await self.command(intent.command or "", intent.text)
            self._forget_armed = False
            if intent.kind == "question":
                context = self.session.context_entry
                result = await self.session.ask(intent.text)
                show_ask(self.console, result, context.id if context else None)
            elif intent.kind == "answer":
                show_feedback(self.console, await self.session.answer(intent.text))
            else:
                self.console.print(
                    "[yellow]No question is open, so there is nothing to answer.[/] Type "
                    "/quiz for a question (or /quiz <topic> \\[easy|medium|hard]); to ask me "
                    "something, start the line with ?"
                )
        except UserError as exc:
            self.console.print(f"[yellow]{escape(str(exc))}[/]")
        except StorageError as exc:
            self.console.print(f"[red]Storage problem:[/] {escape(str(exc))}")
        except Exception as exc:  # one bad line must not end the session; answers so far are saved
            log.debug("error handling %r", line, exc_info=True)
            self.console.print(f"[red]Something went wrong: {escape(type(exc).__name__)}: "
                               f"{escape(str(exc))}[/] (rerun with -v for details)")
        return True

    async def command(self, name: str, args: str) -> bool:
        name = ALIASES.get(name, name)
        if name != "forget":
            self._forget_armed = False
        s, c = self.session, self.console
        if name == "quit":
            return False
        if name == "help":
            c.print(HELP)
        elif name == "quiz":
            dropped = s.current.entry.id if s.current else None
            q = await s.quiz(args)
            if dropped and dropped != q.entry.id:
                c.print(f"[dim]({dropped} left unanswered, not recorded)[/]")
            show_question(c, q)
        elif name == "next":
            show_question(c, await s.next())
        elif name == "skip":
            skipped = s.skip()
            c.print(f"[dim]Skipped {skipped.id} (not recorded).[/]")
            show_question(c, await s.next())
        elif name == "review":
            show_question(c, await s.review())
        elif name == "hint":
            show_hint(c, s.hint())
        elif name == "reveal":
            show_reveal(c, await s.reveal())
        elif name == "demo":
            await self.demo(args)
        elif name == "stats":
            show_stats(c, await s.stats())
        elif name == "topics":
            show_topics(c, s.topics(), await s.stats())
        elif name == "forget":
            await self.forget(args)
        else:
            guess = closest(name, COMMANDS, n=1)
            hint = f" Did you mean /{guess[0]}?" if guess else ""
            c.print(f"[yellow]Unknown command /{escape(name)}. Type /help.{hint}[/]")
        return True

    async def demo(self, name: str) -> None:
        entry = self.session.context_entry
        demos = self.session.kb.demos
        if name.lower() == "list":
            show_demo_list(self.console, demos)
            return
        if not name:
            if entry is None:
                raise UserError("No question yet: /quiz first, or /demo <name> "
                                "(/demo list shows them).")
            if not entry.demos:
                raise UserError(f"{entry.id} has no demo; /demo list shows them all.")
            name = entry.demos[0]
        if name not in demos:
            guess = closest(name, list(demos))
            hint = f" Did you mean {', '.join(guess)}?" if guess else ""
            raise UserError(f"Unknown demo {name!r}.{hint} /demo list shows them all.")
        self.console.print(f"[dim]Running demo {escape(name)}...[/]")
        run = await asyncio.to_thread(run_demo, name, self.settings.demo_dir / name)
        show_demo(self.console, run)

    async def forget(self, args: str) -> None:
        if args.strip().lower() != "yes" and not self._forget_armed:
            self._forget_armed = True
            self.console.print("[yellow]This deletes every attempt and review of "
                               f"{escape(self.session.user_id)}. Type /forget yes to confirm.[/]")
            return
        self._forget_armed = False
        counts = await self.store.forget_user(self.session.user_id)
        self.session.current = self.session.last = None
        self.console.print(f"Deleted {plural(counts.get('attempts', 0), 'attempt')} and all "
                           f"reviews of {escape(self.session.user_id)}.")


HISTORY_FILE = "chat_history"  # in the data dir: what was typed at the terminal, for Up/Ctrl-R


def make_editor(settings: Settings, session: TutorSession) -> LineEditor:
    """The terminal's line editor, its history in the data dir, completing what /help lists."""
    from bot.frontends.terminal.line_editor import LineEditor

    kb = session.kb
    return LineEditor(settings.data_dir / HISTORY_FILE, completions={
        "": [*COMMANDS, "exit"],
        "quiz": [*kb.topics(), "easy", "medium", "hard", *MODES],
        "demo": [*kb.demos, "list"],
    })


def _editor_lines(runner: asyncio.Runner, editor: LineEditor) -> Iterator[str]:
    """What the user sends, one submission at a time (it may hold several lines)."""
    while (text := runner.run(editor.read())) is not None:
        yield text


FENCE = "```"  # opens and closes a code block (as in the line editor)


def _read_lines(stdin: TextIO) -> Iterator[str]:
    """Piped input: logical lines until end of input; a trailing backslash continues a line, and a
    ``` code block (to its closing ```) is one answer with its line breaks, as in the editor."""
    pending: list[str] = []
    block: list[str] | None = None  # the lines of an open ``` block
    while True:
        raw = stdin.readline()
        if raw == "":
            if block is not None:
                pending.append("\n".join(block))
            if pending:
                yield " ".join(pending)
            return
        raw = raw.rstrip("\r\n")
        if block is not None:
            block.append(raw)
            if raw.lstrip().startswith(FENCE):
                yield " ".join([*pending, "\n".join(block)])
                pending, block = [], None
            continue
        if raw.lstrip().startswith(FENCE) and raw.count(FENCE) == 1:
            block = [raw]
            continue
        if raw.endswith("\\"):
            pending.append(raw[:-1].rstrip())
            continue
        yield " ".join([*pending, raw]) if pending else raw
        pending = []


def _index_progress(console: Console):
    """Runtime's index-build hook: say why the first start takes longer."""

    def wrap(chunks):
        console.print("Building the search index (first start only; a minute or two)...")
        yield from chunks

    return wrap


def run_terminal(user: str | None = None, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, *, stderr: TextIO | None = None,
                 runtime=None, settings: Settings | None = None,
                 editor: LineEditor | None = None) -> int:
    """Run the terminal tutor until /quit, end of input or Ctrl-C. Returns the exit code.

    `runtime` (bot.app.runtime.Runtime) and `settings` can be injected (tests reuse one loaded model);
    by default the settings come from the environment and the model loads here. Input goes
    through the line editor when stdin and stdout are terminals, or when `editor` is given (tests
    drive one with prompt_toolkit's pipe input); otherwise `stdin` is read line by line.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    errors = make_console(stderr if stderr is not None else sys.stderr)
    console = make_console(stdout)
    settings = settings or (runtime.settings if runtime is not None else get_settings())
    user = user or default_user()
    if hasattr(stdin, "reconfigure"):  # undecodable bytes in piped input must not crash the loop
        stdin.reconfigure(errors="replace")
    interactive = editor is not None or (
        stdin is sys.stdin and _isatty(stdin) and console.is_terminal)

    # A loop of our own that is never installed as the thread's current loop: callers (tests,
    # other front ends) may have theirs.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        try:
            store = runner.run(ProgressStore.open(settings.resolved_database_url))
        except StorageError as exc:
            errors.print(f"gradcheck: {escape(str(exc))}")
            return EXIT_STORAGE
        service = None
        try:
            if runtime is None:
                from bot.app.runtime import Runtime

                # Our own "Loading the model..." says it; the library's bar would only add noise.
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                console.print("Loading the model...")
                runtime = Runtime(settings, progress=_index_progress(console))
                runtime.grader, runtime.retriever  # noqa: B018 (load now, not at the first answer)
            service = GradingService(runtime.grader, runtime.retriever)
            session = TutorSession(user, runtime.kb, service, store)
            app = TerminalApp(console, session, store, settings)
            welcome(console, user, runner.run(session.stats()), len(runtime.kb.entries))
            if interactive:
                lines = _editor_lines(runner, editor or make_editor(settings, session))
            else:
                lines = _read_lines(stdin)
            for line in lines:
                if not interactive and line.strip():
                    shown = line if len(line) <= ECHO_LIMIT else line[:ECHO_LIMIT] + "..."
                    console.print(f"[dim]> {escape(shown)}[/]")
                if not runner.run(app.handle(line)):
                    break
        except KeyboardInterrupt:
            console.print()
        except StorageError as exc:  # e.g. the database became unreadable mid-session
            errors.print(f"gradcheck: {escape(str(exc))}")
            return EXIT_STORAGE
        finally:
            if service is not None:
                runner.run(service.close())
            runner.run(store.close())
        console.print("Bye. Your progress is saved.")
    return EXIT_OK
