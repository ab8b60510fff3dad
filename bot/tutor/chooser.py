"""Choosing a question: the one chooser behind /quiz (terminal and Discord), /next, mock-night
rounds and the question of the day.

`/quiz [topic|id] [difficulty] [mode]` picks among the entries that match the filters (topic,
difficulty E/M/H or easy/medium/hard, or a question id / id prefix such as 8.3.44), leaving out the
ones already asked in this session while others remain:

- new (default): an unseen question at random; a user's very first question is an easy one when
  no difficulty was asked for. When every match has been seen, the most overdue one, else any.
- review: the most overdue question from the spaced-repetition queue (`due_reviews`). It remembers
  which key points the last attempt missed; the feedback says which of those are now covered.
  (They are not shown before the answer: that would hand the answer over.)
- weak: the weakest topic first (`weakest_topics`), then as in "new" within that topic.
- cram: any match at random, ignoring the schedule.

`/quiz` takes at most one topic (or id), one difficulty and one mode: "/quiz easy hard" is
refused. /next widens the filters (id, then difficulty, then topic) once a session has asked every
question they match. A mock round is a cram pick among the night's topics, never one asked that
night; the question of the day is a different question each day, the same for every process.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain.enums import DIFFICULTY_NAMES, Difficulty, Mode
from bot.domain.errors import UserError, closest
from bot.domain.ids import ID_LIKE, ID_RANGE
from bot.tutor.progress import DueReview, KnowledgeLike, TopicMastery
from bot.tutor.qotd import qotd_question
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

MODES = tuple(Mode)
DIFFICULTIES = {"e": Difficulty.E, "easy": Difficulty.E, "m": Difficulty.M,
                "medium": Difficulty.M, "h": Difficulty.H, "hard": Difficulty.H}


class UnknownTopic(UserError):
    def __init__(self, word: str, topics: Sequence[str]):
        self.word = word
        self.topics = list(topics)
        suggestions = closest(word.lower(), self.topics, n=1)
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"Unknown topic {word!r}.{hint} Topics: {', '.join(self.topics)}. "
            "Difficulty: easy, medium, hard. Modes: " + ", ".join(MODES) + "."
        )



class NothingToAsk(UserError):
    """No question matches the filters (or nothing is due for review)."""


class ConflictingFilters(UserError):
    """Two values for one /quiz filter, e.g. "/quiz easy hard": which one was meant is unknown."""

    def __init__(self, kind: str, first: str, second: str):
        self.kind, self.values = kind, (first, second)
        super().__init__(
            f"/quiz takes one {kind}, not two ({first} and {second}). Pick one, "
            f"e.g. /quiz {second}."
        )



# --- the rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizRequest:
    """Filters and mode of /quiz; an empty request means any new question."""

    topic: str | None = None
    difficulty: Difficulty | None = None
    id_prefix: str | None = None  # "8.3.44" matches 8.3.44 and 8.3.44.<k>
    mode: Mode = Mode.NEW

    def matches(self, entry: Entry) -> bool:
        if self.topic and self.topic not in entry.topic_names:
            return False
        if self.difficulty and entry.difficulty != self.difficulty:
            return False
        return not self.id_prefix or (
            entry.id == self.id_prefix or entry.id.startswith(self.id_prefix + ".")
        )

    def describe(self) -> str:
        parts = [self.id_prefix, self.topic,
                 DIFFICULTY_NAMES[self.difficulty] if self.difficulty else None]
        return ", ".join(p for p in parts if p) or "any topic"


def resolve_topic(word: str, topics: Sequence[str]) -> str | None:
    """Exact topic, or a unique prefix ("optim", "numpy"); '_' and '-' are interchangeable."""
    key = word.lower().replace("_", "-")
    if key in topics:
        return key
    starts = [t for t in topics if t.startswith(key)]
    return starts[0] if len(starts) == 1 else None


def night_topics(text: str, topics: Sequence[str]) -> tuple[str, ...]:
    """A mock night's topics: comma- (or semicolon-) separated, each resolved like /quiz's."""
    chosen = []
    for word in text.replace(";", ",").split(","):
        if word.strip():
            topic = resolve_topic(word.strip(), topics)
            if topic is None:
                raise UserError(f"Unknown topic {word.strip()!r}: see `/topics`.")
            chosen.append(topic)
    return tuple(chosen)


def parse_quiz_args(text: str, kb: KnowledgeBase) -> QuizRequest:
    """`/quiz` arguments in any order: a topic or question id (prefix), a difficulty, a mode.

    Each filter at most once: two different values of one ("easy hard", "review cram", two topics
    or two ids) raise ConflictingFilters; a repeated value ("easy e") is fine.
    """
    topics = kb.topics()
    topic = difficulty = id_prefix = mode = None
    for word in text.split():
        low = word.lower()
        if low in DIFFICULTIES:
            _once("difficulty", difficulty and DIFFICULTY_NAMES[difficulty],
                  DIFFICULTY_NAMES[DIFFICULTIES[low]])
            difficulty = DIFFICULTIES[low]
        elif low in MODES:
            mode = _once("mode", mode, low)
        elif ID_LIKE.match(low) and any(
            e == low or e.startswith(low + ".") for e in kb.entries
        ):
            id_prefix = _once("question id", id_prefix, low)
        elif ID_LIKE.match(low):
            raise NothingToAsk(f"No question has the id {word!r}. {ID_RANGE}; /topics lists the topics.")
        elif (found := resolve_topic(low, topics)) is not None:
            topic = _once("topic", topic, found)
        else:
            raise UnknownTopic(word, topics)
    return QuizRequest(topic, difficulty, id_prefix, Mode(mode) if mode else Mode.NEW)


def _once(kind: str, old: str | None, new: str) -> str:
    """A /quiz filter given a second time must repeat the first value."""
    if old is not None and old != new:
        raise ConflictingFilters(kind, old, new)
    return new


@dataclass(frozen=True)
class Pick:
    entry: Entry
    reason: str
    missed_before: tuple[int, ...] = ()


def pick_question(
    entries: Iterable[Entry],
    request: QuizRequest,
    *,
    seen: set[str],
    due: Sequence[DueReview] = (),
    weak: Sequence[TopicMastery] = (),
    recent: Iterable[str] = (),
    rng: random.Random | None = None,
) -> Pick:
    """Choose the next question (rules in the module docstring). Pure: the caller gathers state."""
    rng = rng or random.Random()
    matching = [e for e in entries if request.matches(e)]
    if not matching:
        raise NothingToAsk(f"No question matches {request.describe()}. Type /topics for the list.")
    recent = set(recent)
    fresh = [e for e in matching if e.id not in recent] or matching
    due_by_id = {d.question_id: d for d in due}

    if request.mode == Mode.REVIEW:
        for candidates in (fresh, matching):
            ready = [due_by_id[e.id] for e in candidates if e.id in due_by_id]
            if ready:
                first = min(ready, key=lambda d: (d.due_at, d.question_id))
                entry = next(e for e in candidates if e.id == first.question_id)
                return Pick(entry, _review_reason(entry, first), first.missed_key_points)
        where = "" if request.describe() == "any topic" else f" in {request.describe()}"
        raise NothingToAsk(
            f"Nothing is due for review{where} right now: missed key points come back the next "
            "day. Type /quiz for new questions, or /quiz weak for your weakest topic."
        )
    if request.mode == Mode.CRAM:
        return Pick(rng.choice(fresh), "cram: random, ignoring the schedule")
    if request.mode == Mode.WEAK:
        for topic in weak:
            in_topic = [e for e in fresh if topic.topic in e.topic_names]
            if in_topic:
                pick = _new_or_due(in_topic, seen, due_by_id, request, rng)
                return Pick(pick.entry, f"weakest topic: {topic} ({pick.reason})",
                            pick.missed_before)
    return _new_or_due(fresh, seen, due_by_id, request, rng)


def _new_or_due(candidates: list[Entry], seen: set[str], due_by_id: dict[str, DueReview],
                request: QuizRequest, rng: random.Random) -> Pick:
    unseen = [e for e in candidates if e.id not in seen]
    if unseen:
        if not seen and not request.difficulty:
            # A newcomer's first question should be winnable.
            unseen = [e for e in unseen if e.difficulty == Difficulty.E] or unseen
        return Pick(rng.choice(unseen), "new question")
    ready = sorted((due_by_id[e.id] for e in candidates if e.id in due_by_id),
                   key=lambda d: (d.due_at, d.question_id))
    if ready:
        entry = next(e for e in candidates if e.id == ready[0].question_id)
        return Pick(entry, _review_reason(entry, ready[0]), ready[0].missed_key_points)
    return Pick(rng.choice(candidates), "you have seen every matching question: practice again")


def widenings(request: QuizRequest) -> list[QuizRequest]:
    """The request, then with its id, difficulty and topic filters dropped one by one."""
    steps = [request]
    for name in ("id_prefix", "difficulty", "topic"):
        if getattr(steps[-1], name):
            dropped: dict[str, Any] = {name: None}
            steps.append(replace(steps[-1], **dropped))
    return steps


def widening_note(request: QuizRequest, widened: QuizRequest) -> str:
    dropped = [label for label, name in (("question id", "id_prefix"), ("difficulty", "difficulty"),
                                         ("topic", "topic"))
               if getattr(request, name) and not getattr(widened, name)]
    again = " ".join(p for p in (request.id_prefix, request.topic,
                                 DIFFICULTY_NAMES.get(request.difficulty or ""),
                                 None if request.mode == Mode.NEW else request.mode) if p)
    filters = " and ".join(dropped) + (" filters" if len(dropped) > 1 else " filter")
    return (f"You have had every question matching {request.describe()} in this session, so "
            f"/next now asks from {widened.describe()} (dropped the {filters}). "
            f"/quiz {again} asks one of them again.")


def _review_reason(entry: Entry, due: DueReview) -> str:
    if due.missed_key_points:
        return (f"due for review: last time you missed {len(due.missed_key_points)} of "
                f"{len(entry.key_points)} key points")
    return "due for review"


# --- the chooser ------------------------------------------------------------------------------


class ChooserStore(Protocol):
    """What choosing needs from the progress store (e.g. bot.storage.progress.ProgressStore)."""

    async def seen_question_ids(self, user_id: str) -> set[str]: ...

    async def due_reviews(self, user_id: str, now: datetime | None = None,
                          limit: int | None = 10) -> list[DueReview]: ...

    async def weakest_topics(self, user_id: str, kb: KnowledgeLike, n: int = 3
                             ) -> list[TopicMastery]: ...


class QuestionChooser:
    """Gathers what the rules need (seen, due, weakest topics) and applies them: the one place a
    question is chosen, for the terminal, the quiz cog, mock nights and the question of the day."""

    def __init__(self, kb: KnowledgeBase, store: ChooserStore | None = None):
        self.kb = kb
        self.store = store  # only for_user needs it

    async def for_user(self, user_id: str, request: QuizRequest, *, recent: Iterable[str] = (),
                       now: datetime | None = None, rng: random.Random | None = None) -> Pick:
        """/quiz, /review, /next: by the user's progress, avoiding `recent` while others remain."""
        if self.store is None:
            raise TypeError("QuestionChooser.for_user needs a progress store")
        user = str(user_id)
        seen = await self.store.seen_question_ids(user)
        due = await self.store.due_reviews(user, now=now, limit=None)
        weak: list[TopicMastery] = []
        if request.mode == Mode.WEAK:
            weak = await self.store.weakest_topics(user, self.kb, n=len(self.kb.topics()))
        return pick_question(self.kb.entries.values(), request, seen=seen, due=due, weak=weak,
                             recent=recent, rng=rng)

    def for_night(self, topics: Sequence[str], difficulty: Difficulty | None,
                  asked: Iterable[str]) -> Entry:
        """A mock round: any question on the night's topics (all when none), not yet asked
        tonight while others remain."""
        wanted = set(topics)
        entries = [e for e in self.kb.entries.values()
                   if not wanted or wanted & set(e.topic_names)]
        if not entries:
            raise NothingToAsk(f"No question is about {', '.join(topics)}.")
        request = QuizRequest(difficulty=difficulty, mode=Mode.CRAM)
        return pick_question(entries, request, seen=set(), recent=asked).entry

    def of_the_day(self, day: date, guild_id: int, previous: str | None) -> Entry:
        """A different question each day, the same for every process of the server."""
        return self.kb.entries[qotd_question(list(self.kb.entries), day, guild_id, previous)]
