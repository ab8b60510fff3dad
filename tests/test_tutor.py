"""The tutor core with the real model (session fixtures) and a real SQLite file per test."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import EmptyAnswer, StorageError, UserError
from bot.storage.progress import ProgressStore
from bot.tutor.chooser import (
    ConflictingFilters,
    NothingToAsk,
    QuizRequest,
    UnknownTopic,
    parse_quiz_args,
    pick_question,
)
from bot.tutor.intents import classify
from bot.tutor.session import REVEALED_ANSWER, NoMoreHints, NoOpenQuestion, TutorSession

GOOD_65 = (
    "If all weights start at zero, every hidden unit in a layer computes the same output and gets "
    "the same gradient. The updates are identical, so the units stay copies of each other forever "
    "and the layer acts like one unit. With zero weights in a ReLU network the gradients to hidden "
    "weights are zero so they never move. Random initialization such as Xavier or He breaks the "
    "symmetry and keeps activation variance stable. Biases can start at zero since random weights "
    "already break the symmetry."
)
PARTIAL_65 = "Every hidden unit gets the same gradient, so the units stay identical."


class Clock:
    """A hand-driven monotonic clock, so answer times are exact."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def make_session(kb, grading_service, progress_store):
    def make(user: str = "ada", store=None, **kwargs) -> TutorSession:
        kwargs.setdefault("rng", random.Random(5))
        return TutorSession(user, kb, grading_service, store or progress_store, **kwargs)

    return make


# --- pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question_open", "kind"),
    [
        ("", True, "empty"),
        ("   ", False, "empty"),
        ("/hint", True, "command"),
        ("/ask why clip gradients", True, "question"),
        ("? zero init", True, "question"),
        ("Why does momentum help?", True, "question"),
        ("is relu differentiable at zero?", True, "question"),
        ("What's the intuition here?", True, "question"),
        # ends in '?' but is an answer: not interrogative, or longer than 15 words
        ("Symmetry never breaks?", True, "answer"),
        ("Why? Because every unit in the layer receives exactly the same gradient at every single "
         "step of training, forever?", True, "answer"),
        ("Why it fails: every unit gets the same gradient.", True, "answer"),
        ("All units get the same gradient.", True, "answer"),
        ("All units get the same gradient.", False, "no_question"),
        ("why does dropout work?", False, "question"),
    ],
)
def test_answer_or_question_rule(text, question_open, kind):
    assert classify(text, question_open).kind == kind


def test_classify_strips_markers():
    assert classify("?  why  ", True).text == "why"
    assert classify("/ask   what is weight decay?", True).text == "what is weight decay?"
    intent = classify("/QUIZ optimization easy", False)
    assert (intent.command, intent.text) == ("quiz", "optimization easy")
    # a command split from its argument by a newline (a pasted or multi-line input)
    intent = classify("/quiz\n8.3.65", False)
    assert (intent.command, intent.text) == ("quiz", "8.3.65")


def test_parse_quiz_args(kb):
    assert parse_quiz_args("", kb) == QuizRequest()
    assert parse_quiz_args("Optim HARD", kb) == QuizRequest("optimization", "H")
    assert parse_quiz_args("e numpy", kb) == QuizRequest("numpy-implementation", "E")
    assert parse_quiz_args("8.3.44 cram", kb) == QuizRequest(id_prefix="8.3.44", mode="cram")
    assert parse_quiz_args("training_dynamics review", kb).mode == "review"
    with pytest.raises(UnknownTopic) as caught:
        parse_quiz_args("optimisation", kb)
    message = str(caught.value)
    assert "Did you mean optimization?" in message
    assert all(topic in message for topic in kb.topics())
    with pytest.raises(NothingToAsk, match="8.3.99"):
        parse_quiz_args("8.3.99", kb)


@pytest.mark.parametrize(
    ("args", "kind", "values"),
    [
        ("easy hard", "difficulty", ("easy", "hard")),
        ("e optimization medium", "difficulty", ("easy", "medium")),
        ("review cram", "mode", ("review", "cram")),
        ("optimization regularization", "topic", ("optimization", "regularization")),
        ("8.3.44 8.3.65", "question id", ("8.3.44", "8.3.65")),
    ],
)
def test_quiz_args_take_one_value_per_filter(kb, args, kind, values):
    with pytest.raises(ConflictingFilters) as caught:
        parse_quiz_args(args, kb)
    assert (caught.value.kind, caught.value.values) == (kind, values)
    assert str(caught.value).startswith(f"/quiz takes one {kind}, not two")
    # the same value twice is no conflict
    assert parse_quiz_args("easy e EASY optim optimization", kb) == QuizRequest("optimization", "E")


def test_pick_modes_are_pure(kb):
    entries = list(kb.entries.values())
    rng = random.Random(0)
    # A newcomer's first question is easy; later ones are unseen ones of any difficulty.
    first = pick_question(entries, QuizRequest(), seen=set(), rng=rng)
    assert first.entry.difficulty.value == "E"
    seen = {e.id for e in entries if e.id != "8.3.47"}
    assert pick_question(entries, QuizRequest(), seen=seen, rng=rng).entry.id == "8.3.47"
    # cram ignores the schedule but avoids what this session already asked
    cram = QuizRequest(id_prefix="8.3.44", mode="cram")
    asked = ["8.3.44.1", "8.3.44.2", "8.3.44.3"]
    assert pick_question(entries, cram, seen=seen, recent=asked, rng=rng).entry.id == "8.3.44.4"
    with pytest.raises(NothingToAsk, match="Nothing is due"):
        pick_question(entries, QuizRequest(mode="review"), seen=seen, rng=rng)


# --- sessions with the real model and a real SQLite file --------------------------------------


async def test_quiz_filters_and_modes(make_session, kb):
    s = make_session()
    for _ in range(4):
        q = await s.quiz("optimization medium")
        assert "optimization" in q.entry.topic_names and q.entry.difficulty.value == "M"
    q = await s.quiz("8.3.44")
    assert q.entry.id.startswith("8.3.44.") and q.group  # sub-questions carry their group title
    assert (await s.quiz("8.3.65")).entry.id == "8.3.65"
    with pytest.raises(UnknownTopic, match="optimization"):
        await s.quiz("cooking")
    with pytest.raises(NothingToAsk, match="Nothing is due"):
        await s.review()
    cram = make_session("cram")
    asked = {(await cram.quiz("8.3.44 cram")).entry.id for _ in range(4)}
    assert asked == {e for e in kb.entries if e.startswith("8.3.44.")}  # no repeats while fresh


async def test_answer_is_graded_recorded_and_explained(make_session, progress_store, kb):
    clock = Clock()
    s = make_session(clock=clock)
    await s.quiz("8.3.65")
    clock.t += 42.5
    fb = await s.answer(GOOD_65)
    assert fb.verdict == "correct" and fb.score > 0.9
    assert len(fb.covered) == len(kb.entries["8.3.65"].key_points) and not fb.missed
    assert fb.reference_answer == kb.entries["8.3.65"].reference_answer
    assert fb.demos == kb.entries["8.3.65"].demos
    # the related question: the first follow-up not seen yet
    assert fb.related is not None and fb.related.id == kb.entries["8.3.65"].follow_ups[0]
    assert fb.seconds == pytest.approx(42.5) and fb.recorded is not None
    assert s.current is None and s.last.id == "8.3.65"
    [row] = await progress_store.recent_attempts("ada")
    assert (row.question_id, row.verdict, row.answer) == ("8.3.65", "correct", GOOD_65)
    assert row.seconds == pytest.approx(42.5)
    with pytest.raises(NoOpenQuestion, match="/quiz"):
        await s.answer("another answer")


async def test_misconception_comes_with_its_correction(make_session):
    s = make_session()
    await s.quiz("8.3.65")
    fb = await s.answer("Zero init is fine because gradient descent moves the weights apart "
                        "after the first update.")
    assert fb.verdict != "correct"
    [wrong] = fb.misconceptions
    assert "same gradient" in wrong.correction
    assert "misconception" in fb.advice


async def test_hints_lower_the_best_score(make_session, grading_service, progress_store, kb):
    s = make_session()
    q = await s.quiz("8.3.65")
    first, second = s.hint(), s.hint()
    assert (first.text, second.text) == tuple(kb.entries["8.3.65"].hints[:2])
    assert (second.number, second.total, second.max_score) == (2, q.hints_total, pytest.approx(0.7))
    fb = await s.answer(GOOD_65)
    unhinted = await grading_service.grade("8.3.65", GOOD_65)
    assert fb.result.hints_used == 2
    assert fb.score <= 0.7 + 1e-9 < unhinted.score
    assert (await progress_store.recent_attempts("ada"))[0].hints_used == 2

    await s.quiz("8.3.65")
    for _ in kb.entries["8.3.65"].hints:
        s.hint()
    with pytest.raises(NoMoreHints, match="/reveal"):
        s.hint()


async def test_reveal_records_a_missed_attempt_due_tomorrow(make_session, progress_store, kb):
    s = make_session()
    await s.quiz("8.3.49")
    s.hint()
    reveal = await s.reveal()
    assert reveal.reference_answer == kb.entries["8.3.49"].reference_answer
    assert s.current is None and s.context_entry.id == "8.3.49"
    [row] = await progress_store.recent_attempts("ada")
    assert (row.answer, row.verdict, row.score, row.hints_used) == (REVEALED_ANSWER, "incorrect",
                                                                     0.0, 1)
    assert not await progress_store.due_reviews("ada")
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    [due] = await progress_store.due_reviews("ada", now=tomorrow)
    assert due.question_id == "8.3.49"
    assert due.missed_key_points == tuple(range(len(kb.entries["8.3.49"].key_points)))
    with pytest.raises(NoOpenQuestion):
        await s.reveal()


async def test_skip_and_next(make_session, progress_store, kb):
    s = make_session()
    first = await s.quiz("regularization")
    assert s.skip().id == first.entry.id and s.current is None
    with pytest.raises(NoOpenQuestion, match="skip"):
        s.skip()
    second = await s.next()  # same filters, another question
    assert "regularization" in second.entry.topic_names and second.entry.id != first.entry.id
    third = await s.next()  # drops the open one, unrecorded
    assert third.entry.id not in (first.entry.id, second.entry.id)
    assert await progress_store.recent_attempts("ada") == []
    # once the filters are used up in this session, /next widens them instead of repeating
    await s.quiz("8.3.65")
    assert (await s.next()).entry.id != "8.3.65"
    first = await s.quiz("privacy hard")  # one question in the knowledge base
    assert (await s.next()).entry.id != first.entry.id


async def test_next_says_which_filter_it_dropped(make_session):
    s = make_session()
    q = await s.quiz("initialization easy")  # the only easy initialization question
    assert q.entry.id == "8.3.65" and q.note == ""
    with pytest.raises(ConflictingFilters):
        await s.quiz("easy hard")  # refused, not searched for as keywords
    widened = await s.next()
    assert "initialization" in widened.entry.topic_names and widened.entry.id != "8.3.65"
    assert "dropped the difficulty filter" in widened.note
    assert "/quiz initialization easy asks one of them again" in widened.note
    quiet = await s.next()  # the widened filters still have an unasked question: no note
    assert "initialization" in quiet.entry.topic_names and quiet.note == ""
    assert "dropped the topic filter" in (await s.next()).note
    review = make_session("newcomer")
    with pytest.raises(NothingToAsk):
        await review.review()
    review.request = QuizRequest(mode="review")
    assert "Nothing else is due for review" in (await review.next()).note


async def test_follow_up_during_a_quiz_favours_the_open_question(make_session, retriever):
    query = "what about the learning rate?"
    assert retriever.ask(query).results[0].question_id != "8.3.58.3"
    s = make_session()
    await s.quiz("8.3.58.3")
    assert s.intent(query).kind == "question"
    result = await s.ask(query)
    assert result.results[0].question_id == "8.3.58.3"
    assert s.current is not None  # asking does not close the question
    with pytest.raises(UserError, match="Ask something"):
        await s.ask("  ")


async def test_bad_answers_leave_the_question_open(make_session, progress_store):
    s = make_session()
    await s.quiz("8.3.65")
    with pytest.raises(EmptyAnswer):
        await s.answer("   ")
    with pytest.raises(UserError, match="no words"):
        await s.answer("🤷 🤷‍♀️ !!")
    assert s.current is not None
    assert await progress_store.recent_attempts("ada") == []
    fb = await s.answer("所有权重为零时，同一层的所有神经元得到相同的梯度，对称性永远不会被打破。")
    assert any("English" in note for note in fb.result.notes)
    assert fb.recorded is not None


async def test_progress_persists_in_the_sqlite_file(make_session, sqlite_url, kb):
    s = make_session()
    await s.quiz("8.3.65")
    await s.answer(GOOD_65)
    await s.quiz("8.3.49")
    await s.reveal()
    reopened = await ProgressStore.open(sqlite_url)
    try:
        again = make_session(store=reopened)
        stats = await again.stats()
        assert (stats.attempts, stats.correct, stats.questions_attempted) == (2, 1, 2)
        assert await reopened.seen_question_ids("ada") == {"8.3.65", "8.3.49"}
        assert (await make_session("grace", store=reopened).stats()).attempts == 0
    finally:
        await reopened.close()


async def test_review_brings_back_missed_key_points(make_session, kb):
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    before = make_session(now=lambda: two_days_ago)
    await before.quiz("8.3.65")
    first = await before.answer(PARTIAL_65)
    missed = tuple(i for i, kp in enumerate(first.result.key_points) if not kp.covered)
    assert missed

    s = make_session()
    q = await s.review()
    assert (q.entry.id, q.mode, q.missed_before) == ("8.3.65", "review", missed)
    assert "missed" in q.reason
    fb = await s.answer(GOOD_65)
    assert [text for text, _ in fb.review_progress] == [first.result.key_points[i].text
                                                         for i in missed]
    assert all(now_covered for _, now_covered in fb.review_progress)
    with pytest.raises(NothingToAsk):
        await s.review()  # answered well: nothing else is due
    assert (await s.next()).mode == "new"  # /next after an empty review queue: new questions


async def test_weak_mode_targets_the_weakest_topic(make_session):
    s = make_session()
    await s.quiz("8.3.54")  # normalization, architecture
    await s.answer("I am not sure, something about statistics.")
    q = await s.quiz("weak")
    assert q.mode == "weak" and "weakest topic" in q.reason
    assert {"normalization", "architecture"} & set(q.entry.topic_names)


async def test_storage_failure_keeps_the_grade_and_says_so(make_session, progress_store):
    class FailingStore:
        def __getattr__(self, name):
            return getattr(progress_store, name)

        async def record_attempt(self, *args, **kwargs):
            raise StorageError("SQLite database /x/gradcheck.sqlite3 is locked by another process")

    s = make_session(store=FailingStore())
    await s.quiz("8.3.65")
    fb = await s.answer(GOOD_65)
    assert fb.verdict == "correct" and fb.recorded is None
    assert "locked" in fb.save_error


async def test_quiz_by_keyword_searches_the_knowledge_base(make_session):
    session = make_session()
    question = await session.quiz("xor")
    assert question.entry.id == "8.3.64"
    with pytest.raises(UnknownTopic):
        await session.quiz("astrology")
