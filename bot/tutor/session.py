"""Tutor sessions: pick a question, ask it, take hints, grade the answer, record it, explain.

Pure session logic: no Discord, no terminal I/O. A `TutorSession` serves one user over two async
collaborators shared by every session of a process: a grading backend (`grade` / `ask`, e.g.
bot.app.service.GradingService) and a progress store (bot.storage.progress.ProgressStore). The front ends
(terminal, Discord) parse input with `classify`, call the session and render what it returns.

Picking a question (`/quiz [topic|id] [difficulty] [mode]`), among the entries that match the
filters (topic, difficulty E/M/H or easy/medium/hard, or a question id / id prefix such as 8.3.44),
leaving out the ones already asked in this session while others remain:

- new (default): an unseen question at random; a user's very first question is an easy one when
  no difficulty was asked for. When every match has been seen, the most overdue one, else any.
- review: the most overdue question from the spaced-repetition queue (`due_reviews`). It remembers
  which key points the last attempt missed; the feedback says which of those are now covered.
  (They are not shown before the answer: that would hand the answer over.)
- weak: the weakest topic first (`weakest_topics`), then as in "new" within that topic.
- cram: any match at random, ignoring the schedule.

Hints come from the entry's ladder, in order. Each hint used lowers the best score the answer can
get by `hint_cost` (the grader applies the cap; the session passes `hints_used`).

Reveal shows the reference answer and records the attempt as incorrect with score 0 (no key point
covered): looking at the answer is not recalling it, so SM-2 brings the question back the next day.
Skip closes the open question without recording anything; next asks another question with the
same filters (an open question is dropped, unrecorded), widening them once this session has asked
every question they match; the question then carries a note saying which filter was dropped.
`/quiz` takes at most one topic (or id), one difficulty and one mode: "/quiz easy hard" is
refused. An answer is timed from the moment its question was asked and is committed as soon as it
is graded, so a crash loses at most that answer. Input without a letter or digit (emoji only) is
not graded and not recorded; the question stays open.

Answer or follow-up question? (`classify`) With a question open, plain text is the ANSWER unless
  - it starts with "?" or "/ask", or
  - it is short (at most 15 words), ends with "?" and starts with an interrogative word
    (what, why, how, when, where, which, who, is, are, can, does, do, did, should, could, would, will).
Those are follow-up questions, answered from the knowledge base in the context of the open
question (or of the one just answered). With no question open, question-like text is a follow-up
question too, and other plain text gets an explanation of /quiz.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from bot.domain.errors import UserError, closest
from bot.domain.results import AskResult, GradeResult, KeyPointResult, MisconceptionHit
from bot.grading.grader import GradingParams
from bot.storage.progress import DueReview, RecordedAttempt, StorageError, TopicMastery, UserStats
from knowledge.loader import KnowledgeBase
from knowledge.schema import DIFFICULTY_NAMES, Entry

MODES = ("new", "review", "weak", "cram")
DIFFICULTIES = {"e": "E", "easy": "E", "m": "M", "medium": "M", "h": "H", "hard": "H"}
INTERROGATIVES = frozenset([
    "what", "what's", "whats", "why", "how", "when", "where", "which", "who", "is", "are", "can",
    "does", "do", "did", "should", "could", "would", "will",
])
MAX_QUESTION_WORDS = 15
REVEALED_ANSWER = "[revealed]"  # stored as the answer text of a reveal

_ID_LIKE = re.compile(r"^8\.3(\.[a-z0-9-]+)*$")


# --- errors -----------------------------------------------------------------------------------


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


class NoOpenQuestion(UserError):
    def __init__(self, action: str = "answer"):
        super().__init__(
            f"There is no open question to {action}. Type /quiz for a question "
            "(or /quiz <topic> [easy|medium|hard]); /topics lists the topics."
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


class NoMoreHints(UserError):
    pass


# --- collaborators ----------------------------------------------------------------------------


class Backend(Protocol):
    """What a session needs from bot.app.service.GradingService."""

    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult: ...

    async def ask(self, query: str, k: int = 3, context_id: str | None = None) -> AskResult: ...


class Store(Protocol):
    """The part of bot.storage.progress.ProgressStore a session uses."""

    async def record_attempt(self, user_id: str, question_id: str, answer: str,
                             result: GradeResult, seconds: float | None,
                             guild_id: str | None = None,
                             now: datetime | None = None) -> RecordedAttempt: ...

    async def due_reviews(self, user_id: str, now: datetime | None = None,
                          limit: int | None = 10) -> list[DueReview]: ...

    async def seen_question_ids(self, user_id: str) -> set[str]: ...

    async def stats(self, user_id: str, kb: KnowledgeBase, now: datetime | None = None
                    ) -> UserStats: ...

    async def weakest_topics(self, user_id: str, kb: KnowledgeBase, n: int = 3
                             ) -> list[TopicMastery]: ...


# --- input: answer, follow-up question or command ------------------------------------------------

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


# --- picking questions ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizRequest:
    """Filters and mode of /quiz; an empty request means any new question."""

    topic: str | None = None
    difficulty: str | None = None  # "E" | "M" | "H"
    id_prefix: str | None = None  # "8.3.44" matches 8.3.44 and 8.3.44.<k>
    mode: str = "new"

    def matches(self, entry: Entry) -> bool:
        if self.topic and self.topic not in entry.topic_names:
            return False
        if self.difficulty and entry.difficulty.value != self.difficulty:
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
        elif _ID_LIKE.match(low) and any(
            e == low or e.startswith(low + ".") for e in kb.entries
        ):
            id_prefix = _once("question id", id_prefix, low)
        elif _ID_LIKE.match(low):
            raise NothingToAsk(
                f"No question has the id {word!r}. Ids run 8.3.41 to 8.3.70 (sub-questions like "
                "8.3.44.2) plus 8.3.x.<name>; /topics lists the topics."
            )
        elif (found := resolve_topic(low, topics)) is not None:
            topic = _once("topic", topic, found)
        else:
            raise UnknownTopic(word, topics)
    return QuizRequest(topic, difficulty, id_prefix, mode or "new")


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

    if request.mode == "review":
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
    if request.mode == "cram":
        return Pick(rng.choice(fresh), "cram: random, ignoring the schedule")
    if request.mode == "weak":
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
            unseen = [e for e in unseen if e.difficulty.value == "E"] or unseen
        return Pick(rng.choice(unseen), "new question")
    ready = sorted((due_by_id[e.id] for e in candidates if e.id in due_by_id),
                   key=lambda d: (d.due_at, d.question_id))
    if ready:
        entry = next(e for e in candidates if e.id == ready[0].question_id)
        return Pick(entry, _review_reason(entry, ready[0]), ready[0].missed_key_points)
    return Pick(rng.choice(candidates), "you have seen every matching question: practice again")


def _widenings(request: QuizRequest) -> list[QuizRequest]:
    """The request, then with its id, difficulty and topic filters dropped one by one."""
    steps = [request]
    for name in ("id_prefix", "difficulty", "topic"):
        if getattr(steps[-1], name):
            steps.append(replace(steps[-1], **{name: None}))
    return steps


def _widening_note(request: QuizRequest, widened: QuizRequest) -> str:
    dropped = [label for label, name in (("question id", "id_prefix"), ("difficulty", "difficulty"),
                                         ("topic", "topic"))
               if getattr(request, name) and not getattr(widened, name)]
    again = " ".join(p for p in (request.id_prefix, request.topic,
                                 DIFFICULTY_NAMES.get(request.difficulty or ""),
                                 None if request.mode == "new" else request.mode) if p)
    filters = " and ".join(dropped) + (" filters" if len(dropped) > 1 else " filter")
    return (f"You have had every question matching {request.describe()} in this session, so "
            f"/next now asks from {widened.describe()} (dropped the {filters}). "
            f"/quiz {again} asks one of them again.")


def _review_reason(entry: Entry, due: DueReview) -> str:
    if due.missed_key_points:
        return (f"due for review: last time you missed {len(due.missed_key_points)} of "
                f"{len(entry.key_points)} key points")
    return "due for review"


# --- what a session returns -------------------------------------------------------------------


@dataclass
class Question:
    """The open question (mutable: hints are counted on it)."""

    entry: Entry
    group: str | None
    mode: str
    reason: str
    asked_at: float  # session clock, to time the answer
    missed_before: tuple[int, ...] = ()  # review: key point indices the last attempt missed
    hints_used: int = 0
    note: str = ""  # e.g. /next widened the filters: which one it dropped, and how to undo it

    @property
    def hints_total(self) -> int:
        return len(self.entry.hints)


@dataclass(frozen=True)
class Hint:
    text: str
    number: int  # 1-based
    total: int
    max_score: float  # the best score an answer can now get


@dataclass(frozen=True)
class Reveal:
    entry: Entry
    recorded: RecordedAttempt | None
    save_error: str | None = None

    @property
    def reference_answer(self) -> str:
        return self.entry.reference_answer


@dataclass(frozen=True)
class Feedback:
    entry: Entry
    result: GradeResult
    seconds: float
    advice: str  # one actionable paragraph
    related: Entry | None  # a follow-up question worth trying next
    missed_before: tuple[int, ...] = ()  # review mode: key points the previous attempt missed
    recorded: RecordedAttempt | None = None
    save_error: str | None = None  # graded but not saved (storage failed): say so

    @property
    def verdict(self) -> str:
        return self.result.verdict

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def covered(self) -> list[KeyPointResult]:
        return [kp for kp in self.result.key_points if kp.covered]

    @property
    def missed(self) -> list[KeyPointResult]:
        return [kp for kp in self.result.key_points if not kp.covered]

    @property
    def misconceptions(self) -> list[MisconceptionHit]:
        return self.result.misconceptions

    @property
    def reference_answer(self) -> str:
        return self.result.reference_answer

    @property
    def demos(self) -> list[str]:
        return list(self.entry.demos)

    @property
    def review_progress(self) -> list[tuple[str, bool]]:
        """(key point, covered now) for each key point the previous attempt missed."""
        kps = self.result.key_points
        return [(kps[i].text, kps[i].covered) for i in self.missed_before if i < len(kps)]

    @property
    def newly_mastered(self) -> list[str]:
        if self.recorded is None:
            return []
        return [self.entry.key_points[i].text for i in self.recorded.newly_mastered
                if i < len(self.entry.key_points)]


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    questions: int
    by_difficulty: dict[str, int] = field(default_factory=dict)  # "E"/"M"/"H" -> count


def topic_summaries(kb: KnowledgeBase) -> list[TopicSummary]:
    rows = []
    for topic in kb.topics():
        entries = [e for e in kb.entries.values() if topic in e.topic_names]
        counts = {d: sum(e.difficulty.value == d for e in entries) for d in ("E", "M", "H")}
        rows.append(TopicSummary(topic, len(entries), counts))
    return rows


def advice_for(result: GradeResult) -> str:
    """What to do next, in one paragraph."""
    if not result.covered_indices and not result.misconceptions:
        # Nothing matched: the grader's own explanation says why (keywords, "don't know", echo).
        return result.feedback
    if result.misconceptions:
        return ("Fix the misconception first (see the correction), then say what is true instead. "
                "/ask if the correction is unclear.")
    if result.verdict == "correct":
        if result.missed_indices:
            return "Solid answer. To make it interview-complete, also say the missed points."
        return "Solid answer: every key point covered."
    if result.verdict == "partial":
        return ("Good start. The missed points are what an interviewer would ask about next; "
                "compare with the reference answer.")
    return ("Compare your answer with the reference answer below; /ask about anything unclear, "
            "then /next.")


# --- the session ------------------------------------------------------------------------------


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


class TutorSession:
    """One user's quiz session. Not thread-safe: one front-end task drives it."""

    def __init__(
        self,
        user_id: str,
        kb: KnowledgeBase,
        backend: Backend,
        store: Store,
        *,
        guild_id: str | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        hint_cost: float = GradingParams.hint_cost,
    ):
        self.user_id = str(user_id)
        self.kb = kb
        self.backend = backend
        self.store = store
        self.guild_id = guild_id
        self.rng = rng or random.Random()
        self.clock = clock
        self.now = now
        self.hint_cost = hint_cost
        self.current: Question | None = None
        self.last: Entry | None = None  # the question answered or revealed most recently
        self.request = QuizRequest()
        self._asked: list[str] = []

    # --- state ---------------------------------------------------------------------------

    @property
    def context_entry(self) -> Entry | None:
        """The question follow-ups and /demo refer to: the open one, else the last one."""
        return self.current.entry if self.current else self.last

    def intent(self, text: str) -> Intent:
        return classify(text, self.current is not None)

    def max_score(self) -> float:
        used = self.current.hints_used if self.current else 0
        return max(0.0, 1.0 - self.hint_cost * used)

    # --- asking ------------------------------------------------------------------------------

    async def quiz(self, args: str = "") -> Question:
        """Parse /quiz arguments and ask a question (an open one is dropped, unrecorded).

        Words that are not a topic, difficulty, mode or id ("/quiz xor", "/quiz dead relu") are
        searched in the knowledge base; a confident match is asked, otherwise the topics are listed.
        """
        try:
            request = parse_quiz_args(args, self.kb)
        except UnknownTopic:
            found = await self.backend.ask(args, k=1)
            if not found.confident:
                raise
            request = QuizRequest(id_prefix=found.results[0].question_id)
        return await self.pick(request)

    async def review(self) -> Question:
        return await self.pick(QuizRequest(mode="review"))

    async def next(self) -> Question:
        """Another question with the last filters (an open one is dropped, unrecorded).

        When this session has asked every question the filters match, they are widened (id,
        then difficulty, then topic) rather than asking the same question again, and the question
        says so in its `note` (the widened filters stay for later /next).
        """
        request = self.request
        note = ""
        if request.mode == "review":
            try:
                return await self.pick(request)
            except NothingToAsk:
                request = QuizRequest()  # review queue empty: carry on with new questions
                note = ("Nothing else is due for review right now, so /next asks new questions "
                        "(/review when something is due again).")
        for widened in _widenings(request):
            if any(e.id not in self._asked for e in self.kb.entries.values()
                   if widened.matches(e)):
                if widened != request:
                    note = _widening_note(request, widened)
                request = widened
                break
        question = await self.pick(request)
        question.note = note
        return question

    async def pick(self, request: QuizRequest) -> Question:
        seen = await self.store.seen_question_ids(self.user_id)
        due = await self.store.due_reviews(self.user_id, now=self.now(), limit=None)
        weak: list[TopicMastery] = []
        if request.mode == "weak":
            weak = await self.store.weakest_topics(self.user_id, self.kb, n=len(self.kb.topics()))
        pick = pick_question(self.kb.entries.values(), request, seen=seen, due=due, weak=weak,
                             recent=self._asked, rng=self.rng)
        entry = pick.entry
        self.request = request
        self.current = Question(
            entry=entry,
            group=self.kb.groups.get(entry.parent) if entry.parent else None,
            mode=request.mode,
            reason=pick.reason,
            asked_at=self.clock(),
            missed_before=pick.missed_before,
        )
        self._asked.append(entry.id)
        return self.current

    # --- while a question is open ------------------------------------------------------------

    def _open(self, action: str) -> Question:
        if self.current is None:
            raise NoOpenQuestion(action)
        return self.current

    def hint(self) -> Hint:
        q = self._open("give a hint for")
        if q.hints_used >= q.hints_total:
            raise NoMoreHints(
                f"No more hints: all {q.hints_total} used. Answer in your own words, "
                "or /reveal the reference answer."
            )
        q.hints_used += 1
        return Hint(q.entry.hints[q.hints_used - 1], q.hints_used, q.hints_total,
                    self.max_score())

    def skip(self) -> Entry:
        """Close the open question without recording anything."""
        q = self._open("skip")
        self.current = None
        return q.entry

    async def reveal(self) -> Reveal:
        """Show the reference answer; recorded as a 0-score incorrect attempt (module docstring)."""
        q = self._open("reveal")
        result = GradeResult(
            question_id=q.entry.id,
            verdict="incorrect",
            score=0.0,
            key_points=[KeyPointResult(kp.text, False, 0.0, kp.required) for kp in q.entry.key_points],
            misconceptions=[],
            feedback="Revealed without an answer.",
            reference_answer=q.entry.reference_answer,
            hints_used=q.hints_used,
        )
        recorded, error = await self._record(q, REVEALED_ANSWER, result)
        self.current, self.last = None, q.entry
        return Reveal(q.entry, recorded, error)

    async def answer(self, text: str) -> Feedback:
        """Grade, record (committed before returning), and explain. UserError leaves it open."""
        q = self._open("answer")
        if text.strip() and not _has_words(text):
            raise UserError("That has no words to grade. Answer in a sentence or two, "
                            "or type /hint.")
        result = await self.backend.grade(q.entry.id, text, hints_used=q.hints_used)
        recorded, error = await self._record(q, text, result)
        self.current, self.last = None, q.entry
        return Feedback(
            entry=q.entry,
            result=result,
            seconds=self.clock() - q.asked_at,
            advice=advice_for(result),
            related=await self._related(q.entry),
            missed_before=q.missed_before,
            recorded=recorded,
            save_error=error,
        )

    async def ask(self, text: str) -> AskResult:
        """A follow-up question, answered in the context of the open (or last) question."""
        if not text.strip():
            raise UserError("Ask something after the '?', e.g. ? why does this happen")
        context = self.context_entry
        return await self.backend.ask(text, k=3, context_id=context.id if context else None)

    async def _record(self, q: Question, answer: str, result: GradeResult
                      ) -> tuple[RecordedAttempt | None, str | None]:
        seconds = round(self.clock() - q.asked_at, 3)
        try:
            recorded = await self.store.record_attempt(
                self.user_id, q.entry.id, answer, result, seconds,
                guild_id=self.guild_id, now=self.now(),
            )
        except StorageError as exc:  # the grade is still shown; the user is told it is unsaved
            return None, str(exc)
        return recorded, None

    async def _related(self, entry: Entry) -> Entry | None:
        """The first follow-up not seen yet, else the first one due for review."""
        follow = [self.kb.entries[f] for f in entry.follow_ups if f in self.kb.entries]
        if not follow:
            return None
        try:
            seen = await self.store.seen_question_ids(self.user_id)
            due = {d.question_id for d in
                   await self.store.due_reviews(self.user_id, now=self.now(), limit=None)}
        except StorageError:
            return follow[0]
        return next((e for e in follow if e.id not in seen),
                    next((e for e in follow if e.id in due), None))

    # --- overview ----------------------------------------------------------------------------

    async def stats(self) -> UserStats:
        return await self.store.stats(self.user_id, self.kb, now=self.now())

    def topics(self) -> list[TopicSummary]:
        return topic_summaries(self.kb)
