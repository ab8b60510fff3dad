"""The Discord front end's pure logic (bot/frontends/discord/logic.py) and the question of the
day's (bot/tutor/qotd.py): no Discord, no model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.errors import UserError
from bot.frontends.discord.logic import (
    ANYONE,
    QuizRef,
    RateLimiter,
    RecentQuestions,
    clip,
    message_role,
    modal_values,
    parse_modal_id,
    parse_quiz_id,
    related_questions,
    strip_mention,
    week_start,
)
from bot.tutor.qotd import next_post, parse_post_time, qotd_due, qotd_question

KNOWN = {"8.3.41", "8.3.65", "8.3.66.1", "8.3.x.nonconvex"}


def test_custom_ids_round_trip_and_stay_short():
    ref = QuizRef("8.3.x.nonconvex", 1573867755847811087, 2)
    for action in ("answer", "hint", "reveal", "skip", "demo"):
        custom_id = ref.custom_id(action)
        assert len(custom_id) <= 100  # Discord's limit
        assert parse_quiz_id(custom_id) == (action, ref)
    assert parse_modal_id(ref.modal_id) == ref
    assert parse_quiz_id("gc:q:explode:8.3.41:1:0") is None
    assert parse_quiz_id("gc:q:hint:9.1.1:1:0") is None  # not a question id
    with pytest.raises(ValueError):
        ref.custom_id("explode")


def test_only_the_owner_may_press_except_shared_questions():
    assert QuizRef("8.3.41", 7).may_press(7)
    assert not QuizRef("8.3.41", 7).may_press(8)
    assert QuizRef("8.3.41", ANYONE).may_press(8)
    assert QuizRef("8.3.41", 7).with_hint().with_hint().hints == 2


def test_message_role_prefers_the_question_buttons():
    ref = QuizRef("8.3.65", 7, 1)
    role = message_role(["gc:try:8.3.41", ref.custom_id("hint")])
    assert role is not None and role.kind == "question" and role.ref == ref
    role = message_role(["gc:ref:8.3.65", "gc:try:8.3.66.1"])
    assert role is not None and (role.kind, role.question_id) == ("context", "8.3.65")
    assert message_role(["something-else"]) is None
    assert message_role([]) is None


def test_modal_values_reads_labels_and_action_rows():
    components = [
        {"type": 18, "component": {"type": 4, "custom_id": "answer", "value": "zero init"}},
        {"type": 1, "components": [{"type": 4, "custom_id": "extra", "value": "x"}]},
    ]
    assert modal_values(components) == {"answer": "zero init", "extra": "x"}


def test_related_questions_keeps_known_ids_in_order():
    assert related_questions("8.3.65", ["8.3.x.gone", "8.3.41", "8.3.65", "8.3.66.1", "8.3.41"],
                             KNOWN) == ["8.3.41", "8.3.66.1"]


def test_rate_limiter_window():
    limiter = RateLimiter(2, 10.0)
    assert limiter.hit(1, 0.0) == 0.0
    assert limiter.hit(1, 1.0) == 0.0
    assert limiter.hit(1, 2.0) == pytest.approx(8.0)  # refused: wait for the first to expire
    assert limiter.hit(2, 2.0) == 0.0  # per user
    assert limiter.hit(1, 10.5) == 0.0
    small = RateLimiter(1, 10.0, max_keys=2)
    for user in range(5):
        small.hit(user, 0.0)
    assert small.hit(0, 1.0) == 0.0  # forgotten: the table stays bounded


def test_recent_questions_is_bounded():
    recent = RecentQuestions(size=2)
    for user in range(3):
        recent.remember(user, f"8.3.4{user}")
    assert recent.get(0) is None and recent.get(2) == "8.3.42"
    recent.forget(2)
    assert recent.get(2) is None


def test_strip_mention_and_clip():
    assert strip_mention("<@42> why <@!42> zero init? <@7>", 42) == "why zero init? <@7>"
    assert clip("short", 10) == "short"
    clipped = clip("one two three four five six", 15)
    assert len(clipped) <= 15 and clipped.endswith("…") and clipped.startswith("one two")


@pytest.mark.parametrize(("text", "expected"), [
    ("9", (9, 0)), ("09:00", (9, 0)), ("21:30 UTC", (21, 30)), (" 0:05 ", (0, 5)),
])
def test_parse_post_time(text, expected):
    assert parse_post_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:60", "noon", "9.30", ""])
def test_parse_post_time_refuses(text):
    with pytest.raises(UserError):
        parse_post_time(text)


def test_qotd_is_due_once_a_day_after_its_time():
    day = datetime(2030, 1, 7, tzinfo=UTC)
    at = day.replace(hour=9, minute=30)
    assert not qotd_due(9, 30, None, at - timedelta(minutes=1))
    assert qotd_due(9, 30, None, at)
    assert not qotd_due(9, 30, at, at + timedelta(hours=5))  # already posted today
    assert qotd_due(9, 30, at - timedelta(days=1), at + timedelta(minutes=3))  # missed by a restart
    assert next_post(9, 30, at, at + timedelta(hours=1)) == at + timedelta(days=1)
    assert next_post(9, 30, None, day) == at


def test_qotd_question_varies_by_day_never_repeats_and_agrees_across_processes():
    ids = [f"8.3.{n}" for n in range(41, 71)]
    days = [date(2030, 1, d) for d in range(1, 29)]
    picks = [qotd_question(ids, d, 99, None) for d in days]
    assert len(set(picks)) > 10
    assert picks == [qotd_question(ids, d, 99, None) for d in days]  # deterministic
    for d, previous in zip(days, picks, strict=True):
        assert qotd_question(ids, d, 99, previous) != previous
    assert qotd_question(["8.3.41"], days[0], 99, "8.3.41") == "8.3.41"  # nothing else to ask


def test_week_start_is_monday_utc():
    assert week_start(datetime(2030, 1, 10, 15, 0, tzinfo=UTC)) == datetime(2030, 1, 7, tzinfo=UTC)
    assert week_start(datetime(2030, 1, 7, 0, 0, tzinfo=UTC)) == datetime(2030, 1, 7, tzinfo=UTC)
