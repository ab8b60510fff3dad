"""The terminal's line editor, driven by prompt_toolkit's own test input (no terminal, no model).

Keys are sent as a terminal sends them: Enter is "\\r", Alt+Enter "\\x1b\\r", a paste arrives between
the bracketed-paste markers, Ctrl-C is "\\x03", Ctrl-D "\\x04", Up "\\x1b[A". The whole run through
`gradcheck chat` (one answer per paste or code block) is in test_terminal.py.
"""

from __future__ import annotations

import asyncio

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from bot.frontends.terminal.line_editor import LineEditor, open_fence, toolbar_text

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ENTER, ALT_ENTER, CTRL_C, CTRL_D, UP = "\r", "\x1b\r", "\x03", "\x04", "\x1b[A"
CODE = "import numpy as np\r\nh = X @ W1 + b1\r\na = np.maximum(0, h)\r\n\r\ndh = da * (h > 0)"


@pytest.fixture
def pipe():
    with create_pipe_input() as inp:
        yield inp


def editor(pipe, history=None, **kwargs) -> LineEditor:
    return LineEditor(history, input=pipe, output=DummyOutput(), **kwargs)


async def read_all(ed: LineEditor) -> list[str]:
    texts = []
    while (text := await ed.read()) is not None:
        texts.append(text)
    return texts


async def typed(ed: LineEditor, pipe, *keys: str) -> str | None:
    """One read, its keys sent as a person types them: after the prompt has drawn (which loads
    the history) and each after the last was handled (Tab completion runs in the background)."""
    task = asyncio.create_task(ed.read())
    for key in keys:
        await asyncio.sleep(0.2)
        pipe.send_text(key)
    return await asyncio.wait_for(task, 10)


async def test_a_pasted_block_and_a_code_block_each_arrive_whole(pipe):
    ed = editor(pipe)
    pipe.send_text(PASTE_START + CODE + PASTE_END + ENTER)
    pipe.send_text(ENTER.join(["```python", "def relu(x):", "", "    return np.maximum(0, x)",
                               "```", ""]))
    pipe.send_text("/next" + ENTER + CTRL_D)
    assert await read_all(ed) == [
        CODE.replace("\r\n", "\n"),
        "```python\ndef relu(x):\n\n    return np.maximum(0, x)\n```",
        "/next",
    ]


async def test_enter_sends_alt_enter_and_backslash_add_a_line(pipe):
    ed = editor(pipe)
    pipe.send_text("first" + ALT_ENTER + "second" + ENTER)
    pipe.send_text("one   \\" + ENTER + "two" + ENTER)
    pipe.send_text("```" + ENTER + "x = 1" + ALT_ENTER + "y = 2" + ENTER + "```" + ENTER)
    pipe.send_text("typo, thrown away" + CTRL_C + "kept" + ENTER)
    pipe.send_text(CTRL_C)  # on an empty line: leave
    pipe.send_text("never read" + ENTER)
    assert await read_all(ed) == ["first\nsecond", "one\ntwo", "```\nx = 1\ny = 2\n```", "kept"]


async def test_history_is_kept_in_a_file_and_recalled_with_up(pipe, tmp_path):
    path = tmp_path / "data" / "chat_history"
    ed = editor(pipe, path)
    pipe.send_text("/quiz 8.3.65" + ENTER + "two\nlines".replace("\n", ALT_ENTER) + ENTER
                   + CTRL_D)
    assert await read_all(ed) == ["/quiz 8.3.65", "two\nlines"]
    assert "+/quiz 8.3.65" in path.read_text() and "+two\n+lines" in path.read_text()

    again = editor(pipe, path)  # a new session reads the file
    # Up recalls the last input; in a text of several lines it first moves between its lines.
    assert await typed(again, pipe, UP, ENTER) == "two\nlines"
    assert await typed(again, pipe, UP, UP, UP, UP, ENTER) == "/quiz 8.3.65"


async def test_tab_completes_commands_and_their_arguments(pipe):
    ed = editor(pipe, completions={"": ["quiz", "quit", "hint"], "quiz": ["optimization", "easy"],
                                   "demo": ["zero_init", "list"]})
    assert await typed(ed, pipe, "/hi", "\t", ENTER) == "/hint"
    assert await typed(ed, pipe, "/quiz opt", "\t", ENTER) == "/quiz optimization"
    assert await typed(ed, pipe, "/demo ze", "\t", ENTER) == "/demo zero_init"
    assert await typed(ed, pipe, "/qu", "\t", ENTER) == "/qui"  # ambiguous: the common part


def test_the_toolbar_says_how_to_send():
    assert open_fence("```python\nx = 1") and not open_fence("```\nx\n```")
    assert not open_fence("plain text mentioning ``` mid-line")
    assert "Enter sends" in toolbar_text("") and "Alt+Enter" in toolbar_text("")
    assert "all 3 lines" in toolbar_text("a\nb\nc")
    assert "closing ```" in toolbar_text("```\ncode")
