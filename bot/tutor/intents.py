"""Answer, follow-up question or command? (`classify`)

With a question open, plain text is the ANSWER unless
  - it starts with "?" or "/ask", or
  - it is short (at most 15 words), ends with "?" and starts with an interrogative word
    (what, why, how, when, where, which, who, is, are, can, does, do, did, should, could, would, will).
Those are follow-up questions, answered from the knowledge base in the context of the open
question (or of the one just answered). With no question open, question-like text is a follow-up
question too, and other plain text gets an explanation of /quiz.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

INTERROGATIVES = frozenset([
    "what", "what's", "whats", "why", "how", "when", "where", "which", "who", "is", "are", "can",
    "does", "do", "did", "should", "could", "would", "will",
])
MAX_QUESTION_WORDS = 15


IntentKind = Literal["empty", "command", "answer", "question", "no_question"]


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    text: str = ""  # the answer, the question, or the command's arguments
    command: str | None = None  # lower-case command name without the slash


def looks_like_question(text: str) -> bool:
    """Short, ends with '?', starts with an interrogative word (see the module docstring)."""
    words = text.split()
    if not words or len(words) > MAX_QUESTION_WORDS or not text.rstrip().endswith("?"):
        return False
    first = re.sub(r"[^\w']", "", words[0].lower()).replace("\u2019", "'")
    return first in INTERROGATIVES


def classify(text: str, question_open: bool) -> Intent:
    """Decide what a line of user input is (the rule is in the module docstring)."""
    text = (text or "").strip()
    if not text:
        return Intent("empty")
    if text.startswith("/"):
        name, rest = (text[1:].split(maxsplit=1) + ["", ""])[:2]  # any whitespace, even a newline
        name = name.lower()
        if name == "ask":
            return Intent("question", rest.strip())
        return Intent("command", rest.strip(), command=name)
    if text.startswith("?"):
        return Intent("question", text.lstrip("?").strip())
    if looks_like_question(text):
        return Intent("question", text)
    return Intent("answer", text) if question_open else Intent("no_question", text)

