"""Tutor sessions: pick a question, ask it, take hints, grade the answer, record it, explain.

Pure session logic: no Discord, no terminal I/O, no database. A `TutorSession` serves one user
over two async collaborators shared by every session of a process: a grading backend (`grade` /
`ask`, e.g. bot.app.service.GradingService) and a progress store (e.g.
bot.storage.progress.ProgressStore). The front ends (terminal, Discord) parse input with
`classify` (bot.tutor.intents), call the session and render what it returns. Choosing questions is
bot.tutor.chooser's job; its docstring has the rules.

Hints come from the entry's ladder, in order. Each hint used lowers the best score the answer can
get by `hint_cost` (the grader applies the cap; the session passes `hints_used`).

Reveal shows the reference answer and records the attempt as incorrect with score 0 (no key point
covered): looking at the answer is not recalling it, so SM-2 brings the question back the next day.
Skip closes the open question without recording anything; next asks another question with the
same filters (an open question is dropped, unrecorded), widening them once this session has asked
every question they match; the question then carries a note saying which filter was dropped.
An answer is timed from the moment its question was asked and is committed as soon as it is
graded, so a crash loses at most that answer. Input without a letter or digit (emoji only) is
not graded and not recorded; the question stays open.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.domain.enums import Mode
from bot.domain.errors import StorageError, UserError
from bot.domain.results import AskResult, GradeResult, KeyPointResult
from bot.grading.thresholds import GradingParams
from bot.tutor.chooser import (
    ChooserStore,
    NothingToAsk,
    QuestionChooser,
    QuizRequest,
    UnknownTopic,
    parse_quiz_args,
    widening_note,
    widenings,
)
from bot.tutor.feedback import (
    Feedback,
    Hint,
    Question,
    Reveal,
    TopicSummary,
    advice_for,
    topic_summaries,
)
from bot.tutor.intents import Intent, classify
from bot.tutor.progress import DueReview, RecordedAttempt, UserStats
from knowledge.loader import KnowledgeBase
from knowledge.schema import Entry

REVEALED_ANSWER = "[revealed]"  # stored as the answer text of a reveal


class NoOpenQuestion(UserError):
    def __init__(self, action: str = "answer"):
        super().__init__(
            f"There is no open question to {action}. Type /quiz for a question "
            "(or /quiz <topic> [easy|medium|hard]); /topics lists the topics."
        )



class NoMoreHints(UserError):
    pass


# --- collaborators ----------------------------------------------------------------------------


class Backend(Protocol):
    """What a session needs from bot.app.service.GradingService."""

    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult: ...

    async def ask(self, query: str, k: int = 3, context_id: str | None = None) -> AskResult: ...


class Store(ChooserStore, Protocol):
    """The part of bot.storage.progress.ProgressStore a session uses (with ChooserStore's)."""

    async def record_attempt(self, user_id: str, question_id: str, answer: str,
                             result: GradeResult, seconds: float | None,
                             guild_id: str | None = None,
                             now: datetime | None = None) -> RecordedAttempt: ...

    async def due_reviews(self, user_id: str, now: datetime | None = None,
                          limit: int | None = 10) -> list[DueReview]: ...

    async def seen_question_ids(self, user_id: str) -> set[str]: ...

    async def stats(self, user_id: str, kb: KnowledgeBase, now: datetime | None = None
                    ) -> UserStats: ...


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
        self.chooser = QuestionChooser(kb, store)
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
        return await self.pick(QuizRequest(mode=Mode.REVIEW))

    async def next(self) -> Question:
        """Another question with the last filters (an open one is dropped, unrecorded).

        When this session has asked every question the filters match, they are widened (id,
        then difficulty, then topic) rather than asking the same question again, and the question
        says so in its `note` (the widened filters stay for later /next).
        """
        request = self.request
        note = ""
        if request.mode == Mode.REVIEW:
            try:
                return await self.pick(request)
            except NothingToAsk:
                request = QuizRequest()  # review queue empty: carry on with new questions
                note = ("Nothing else is due for review right now, so /next asks new questions "
                        "(/review when something is due again).")
        for widened in widenings(request):
            if any(e.id not in self._asked for e in self.kb.entries.values()
                   if widened.matches(e)):
                if widened != request:
                    note = widening_note(request, widened)
                request = widened
                break
        question = await self.pick(request)
        question.note = note
        return question

    async def pick(self, request: QuizRequest) -> Question:
        pick = await self.chooser.for_user(self.user_id, request, recent=self._asked,
                                           now=self.now(), rng=self.rng)
        self.request = request
        self._asked.append(pick.entry.id)
        return self._ask(pick.entry, request.mode, pick.reason, self.clock(), pick.missed_before)

    def hold(self, entry: Entry, *, hints_used: int = 0, asked_at: float | None = None) -> Question:
        """Open `entry` as asked elsewhere (a Discord message shows it): the session then takes
        its hints and answer as if it had asked it at `asked_at` (session clock)."""
        question = self._ask(entry, Mode.NEW, "", self.clock() if asked_at is None else asked_at)
        question.hints_used = hints_used
        return question

    def _ask(self, entry: Entry, mode: Mode, reason: str, asked_at: float,
             missed_before: tuple[int, ...] = ()) -> Question:
        self.current = Question(
            entry=entry,
            group=self.kb.groups.get(entry.parent) if entry.parent else None,
            mode=mode,
            reason=reason,
            asked_at=asked_at,
            missed_before=missed_before,
        )
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
