"""The terminal tutor's line editor (prompt_toolkit), used when stdin and stdout are a terminal.

Piped input never comes here: bot.frontends.terminal.app reads it line by line, as it always has.

How input is submitted (the same rule is in /help and the README):

- Enter sends what you typed, however many lines it has, except inside an open ``` code block.
- Alt+Enter (or Esc then Enter) starts a new line; so does Enter on a line ending with a backslash
  (the backslash is dropped, as piped input drops it).
- A line starting with ``` opens a code block; Enter adds lines until a line starting with ```
  closes it, and Enter on that closing line sends the whole answer, fences included.
- Pasted text is kept whole, newlines included (bracketed paste, which terminals and tmux do):
  it lands in the editor, and Enter sends it.
- Up/Down recall earlier input (in a text of several lines they move between its lines first);
  Ctrl-R searches it. The history is kept in a file (<data dir>/chat_history) when one is given.
- Ctrl-L clears the screen; Tab completes commands, topics and demo names.
- Ctrl-C discards what you typed (on an empty line it leaves); Ctrl-D on an empty line leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style

log = logging.getLogger(__name__)

FENCE = "```"
STYLE = Style.from_dict({
    "prompt": "bold ansicyan",
    "continuation": "ansibrightblack",
    "bottom-toolbar": "noreverse ansibrightblack",
})


def open_fence(text: str) -> bool:
    """True while a ``` code block is open: an odd number of lines start with ```."""
    return sum(line.lstrip().startswith(FENCE) for line in text.split("\n")) % 2 == 1


def toolbar_text(text: str) -> str:
    """The one-line reminder under the input: how to send what is there now."""
    if open_fence(text):
        return " code block: Enter adds a line; Enter on the closing ``` sends the answer"
    if "\n" in text:
        lines = text.count("\n") + 1
        return f" Enter sends all {lines} lines · Alt+Enter adds a line · Ctrl-C discards"
    return " Enter sends · Alt+Enter adds a line · ``` starts a code block · Up: history · /help"


class CommandCompleter(Completer):
    """Tab completion of /commands and of their first arguments.

    `words` maps a command name to the words its arguments can be (topics for quiz, demo names
    for demo); the "" key lists the command names themselves.
    """

    def __init__(self, words: Mapping[str, Iterable[str]]):
        self.words = {name: sorted(set(options)) for name, options in words.items()}

    def get_completions(self, document: Document, complete_event: CompleteEvent):
        text = document.text_before_cursor
        if "\n" in text or not text.startswith("/"):
            return
        command, space, rest = text[1:].partition(" ")
        if not space:
            options, typed = ["/" + name for name in self.words.get("", [])], text
        else:
            options, typed = self.words.get(command.lower(), []), rest.rpartition(" ")[2]
        for option in options:
            if option.startswith(typed.lower()) and option != typed:
                yield Completion(option, start_position=-len(typed))


def _key_bindings() -> KeyBindings:
    kb = KeyBindings()
    editing = has_focus(DEFAULT_BUFFER)  # not while Ctrl-R searches: Enter there ends the search

    @kb.add("enter", filter=editing)
    def _enter(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        before = buf.document.current_line_before_cursor
        if open_fence(buf.text):
            buf.insert_text("\n")
        elif before.endswith("\\"):
            buf.delete_before_cursor(len(before) - len(before[:-1].rstrip()))
            buf.insert_text("\n")
        else:
            buf.validate_and_handle()

    @kb.add("escape", "enter", filter=editing)  # Alt+Enter sends the same keys as Esc then Enter
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-c", filter=editing)
    def _discard(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        if buf.text:
            buf.reset()
        else:
            event.app.exit(exception=EOFError)

    return kb


def _history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as exc:  # a read-only data dir costs the saved history, not the session
        log.debug("history file %s unusable (%s); keeping history in memory", path, exc)
        return InMemoryHistory()
    return FileHistory(str(path))


class LineEditor:
    """Reads one submitted input (a line, or several) per `read()` call."""

    def __init__(self, history_path: Path | None = None, *,
                 completions: Mapping[str, Iterable[str]] | None = None,
                 input: Input | None = None, output: Output | None = None):
        self.session: PromptSession[str] = PromptSession(
            message=FormattedText([("class:prompt", "> ")]),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: FormattedText(
                [("class:continuation", ". ".rjust(width))]),
            history=_history(history_path),
            completer=CommandCompleter(completions) if completions else None,
            complete_while_typing=False,
            key_bindings=_key_bindings(),
            bottom_toolbar=lambda: toolbar_text(self.session.default_buffer.text),
            style=STYLE,
            enable_history_search=False,
            input=input,
            output=output,
        )

    async def read(self) -> str | None:
        """The next submitted text (may hold newlines), or None at Ctrl-D / Ctrl-C on no text."""
        try:
            return await self.session.prompt_async()
        except (EOFError, KeyboardInterrupt):
            return None
