"""The Discord front end's own pure logic: no discord import, no I/O, no clock of its own.

Everything a button or a message needs to know survives a restart because it lives in the
message itself: a question message's buttons carry the question id, the quiz owner's user id and
the hints shown so far in their custom ids (`gc:q:<action>:<question>:<owner>:<hints>`), and a
graded answer's buttons carry the question id (`gc:ref:<question>`, `gc:try:<question>`). So a
reply to any of the bot's messages can be traced back to its question without a lookup table.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.domain.ids import ID_IN_TEXT

# --- custom ids ---------------------------------------------------------------------------------

QUIZ_ACTIONS = ("answer", "hint", "reveal", "skip", "demo")
_QID = ID_IN_TEXT
QUIZ_TEMPLATE = rf"gc:q:(?P<action>{'|'.join(QUIZ_ACTIONS)}):(?P<qid>{_QID}):(?P<owner>\d+):(?P<hints>\d+)"
MODAL_TEMPLATE = rf"gc:answer:(?P<qid>{_QID}):(?P<owner>\d+):(?P<hints>\d+)"
REF_TEMPLATE = rf"gc:ref:(?P<qid>{_QID})"
TRY_TEMPLATE = rf"gc:try:(?P<qid>{_QID})"
ANSWER_FIELD = "answer"  # custom id of the modal's text input

_QUIZ_RE = re.compile(QUIZ_TEMPLATE)
_MODAL_RE = re.compile(MODAL_TEMPLATE)
_CONTEXT_RE = re.compile(rf"gc:(?:ref|try):(?P<qid>{_QID})")

ANYONE = 0  # owner id of a question anyone may answer (the question of the day)


@dataclass(frozen=True)
class QuizRef:
    """One asked question: which, whose, and how many hints are showing."""

    question_id: str
    owner_id: int
    hints: int = 0

    def custom_id(self, action: str) -> str:
        if action not in QUIZ_ACTIONS:
            raise ValueError(f"unknown quiz action {action!r}")
        return f"gc:q:{action}:{self.question_id}:{self.owner_id}:{self.hints}"

    @property
    def modal_id(self) -> str:
        return f"gc:answer:{self.question_id}:{self.owner_id}:{self.hints}"

    def may_press(self, user_id: int) -> bool:
        return self.owner_id in (ANYONE, user_id)

    def with_hint(self) -> QuizRef:
        return replace(self, hints=self.hints + 1)


def parse_quiz_id(custom_id: str) -> tuple[str, QuizRef] | None:
    """(action, ref) for a question button's custom id, else None."""
    m = _QUIZ_RE.fullmatch(custom_id)
    if m is None:
        return None
    return m["action"], QuizRef(m["qid"], int(m["owner"]), int(m["hints"]))


def parse_modal_id(custom_id: str) -> QuizRef | None:
    m = _MODAL_RE.fullmatch(custom_id)
    return None if m is None else QuizRef(m["qid"], int(m["owner"]), int(m["hints"]))


@dataclass(frozen=True)
class MessageRole:
    """What one of the bot's messages is, judged from its buttons' custom ids."""

    kind: Literal["question", "context"]  # a question to answer / a message about a question
    question_id: str
    ref: QuizRef | None = None  # for questions


def message_role(custom_ids: Iterable[str]) -> MessageRole | None:
    """A question message (has quiz buttons) wins over a context message (graded answer, /ask)."""
    context = None
    for custom_id in custom_ids:
        parsed = parse_quiz_id(custom_id)
        if parsed is not None:
            _, ref = parsed
            return MessageRole("question", ref.question_id, ref)
        m = _CONTEXT_RE.fullmatch(custom_id)
        if m is not None and context is None:
            context = MessageRole("context", m["qid"])
    return context


def modal_values(components: Sequence[Mapping]) -> dict[str, str]:
    """custom_id -> value of every text input in a modal submission (action rows or labels)."""
    values: dict[str, str] = {}
    stack = list(components)
    while stack:
        comp = stack.pop()
        if "components" in comp:
            stack.extend(comp["components"])
        if "component" in comp:
            stack.append(comp["component"])
        if "value" in comp and "custom_id" in comp:
            values[comp["custom_id"]] = comp["value"]
    return values


# --- related questions ---------------------------------------------------------------------------


def related_questions(
    question_id: str, follow_ups: Sequence[str], known: Iterable[str], n: int = 2
) -> list[str]:
    """Up to n follow-up questions that exist in the knowledge base, in the author's order."""
    ids = set(known)
    out = [q for q in follow_ups if q in ids and q != question_id]
    return list(dict.fromkeys(out))[:n]


# --- rate limiting ------------------------------------------------------------------------------


class RateLimiter:
    """At most `rate` actions per `per` seconds per key (a sliding window).

    `hit` records an action and returns 0.0, or, when over the limit, the seconds to wait (and
    records nothing, so waiting is enough to be let through again).
    """

    def __init__(self, rate: int, per: float, max_keys: int = 10_000):
        if rate < 1 or per <= 0:
            raise ValueError("rate must be >= 1 and per > 0")
        self.rate = rate
        self.per = per
        self.max_keys = max_keys
        self._hits: OrderedDict[int, deque[float]] = OrderedDict()

    def hit(self, key: int, now: float) -> float:
        window = self._hits.get(key)
        if window is None:
            window = self._hits[key] = deque()
            if len(self._hits) > self.max_keys:  # forget the least recently active user
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        while window and window[0] <= now - self.per:
            window.popleft()
        if len(window) >= self.rate:
            return window[0] + self.per - now
        window.append(now)
        return 0.0


class RecentQuestions:
    """The question each user last dealt with, so a bare mention gets that context (bounded)."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._data: OrderedDict[int, str] = OrderedDict()

    def remember(self, user_id: int, question_id: str) -> None:
        self._data[user_id] = question_id
        self._data.move_to_end(user_id)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def get(self, user_id: int) -> str | None:
        return self._data.get(user_id)

    def forget(self, user_id: int) -> None:
        self._data.pop(user_id, None)


# --- messages -----------------------------------------------------------------------------------

_MENTION_RE = re.compile(r"<@!?(\d+)>")


def strip_mention(content: str, bot_id: int) -> str:
    """The text of a message with the bot's own mentions removed."""
    text = _MENTION_RE.sub(lambda m: "" if int(m[1]) == bot_id else m[0], content)
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """Fit text into a Discord field, cutting at a word boundary with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of this week (the leaderboard's 'this week')."""
    now = now.astimezone(UTC)
    monday = now - timedelta(days=now.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)
