"""SM-2 and key point rules of bot.tutor.scheduling (pure: no clock, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.tutor.scheduling import (
    INITIAL_EASE,
    MIN_EASE,
    KeyPointState,
    ReviewState,
    next_key_point_state,
    next_state,
    quality_from_grade,
    updated_ease,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("verdict", "score", "hints", "quality"),
    [
        ("incorrect", 0.05, 0, 1),
        ("incorrect", 0.4, 0, 2),
        ("partial", 0.55, 0, 3),
        ("correct", 0.7, 0, 4),
        ("correct", 0.9, 0, 5),
        ("correct", 0.9, 1, 4),
        ("correct", 0.9, 2, 3),
        ("correct", 0.9, 5, 3),  # penalty capped at 2, and correct never drops below 3
        ("correct", 0.7, 2, 3),
        ("partial", 0.5, 1, 2),  # a hinted partial answer counts as a lapse
        ("incorrect", 0.05, 3, 0),
    ],
)
def test_quality_from_grade(verdict, score, hints, quality):
    assert quality_from_grade(verdict, score, hints) == quality


def test_quality_rejects_unknown_verdict():
    with pytest.raises(ValueError):
        quality_from_grade("great", 1.0)


@pytest.mark.parametrize(
    ("quality", "delta"), [(5, 0.1), (4, 0.0), (3, -0.14), (2, -0.32), (1, -0.54), (0, -0.8)]
)
def test_ease_update_formula(quality, delta):
    assert updated_ease(2.5, quality) == pytest.approx(2.5 + delta)


def test_ease_never_below_minimum():
    assert updated_ease(1.4, 0) == MIN_EASE
    assert updated_ease(MIN_EASE, 3) == MIN_EASE


def test_first_review_defaults():
    state = next_state(None, 4, T0)
    assert state == ReviewState(
        ease=INITIAL_EASE, interval_days=1, repetitions=1, due_at=T0 + timedelta(days=1)
    )
    # A row created with ReviewState.new is the same as no state at all.
    assert next_state(ReviewState.new(T0), 4, T0) == state


def test_intervals_one_six_then_times_ease():
    now = T0
    state = next_state(None, 4, now)  # EF stays 2.5 at q=4
    assert state.interval_days == 1
    now = state.due_at
    state = next_state(state, 4, now)
    assert (state.interval_days, state.due_at) == (6, now + timedelta(days=6))
    now = state.due_at
    state = next_state(state, 4, now)
    assert state.interval_days == 15  # 6 * 2.5
    state = next_state(state, 4, state.due_at)
    assert state.interval_days == 38  # ceil(15 * 2.5 = 37.5)
    assert state.repetitions == 4 and state.lapses == 0


def test_interval_uses_ease_from_before_the_review():
    state = next_state(None, 5, T0)  # EF 2.6
    state = next_state(state, 5, T0)  # EF 2.7, interval 6
    assert state.ease == pytest.approx(2.7)
    state = next_state(state, 5, T0)
    assert state.interval_days == 17  # ceil(6 * 2.7 = 16.2), then EF 2.8
    assert state.ease == pytest.approx(2.8)


def test_failure_resets_repetitions_and_counts_a_lapse():
    state = next_state(None, 5, T0)
    state = next_state(state, 5, T0)
    state = next_state(state, 5, T0)
    failed = next_state(state, 1, T0)
    assert failed.repetitions == 0
    assert failed.interval_days == 1
    assert failed.due_at == T0 + timedelta(days=1)
    assert failed.lapses == 1
    assert failed.ease == pytest.approx(state.ease - 0.54)
    # Relearning starts again at 1 then 6 days, with the lowered ease kept.
    again = next_state(failed, 4, T0)
    assert (again.repetitions, again.interval_days) == (1, 1)
    again = next_state(again, 4, T0)
    assert again.interval_days == 6


def test_quality_out_of_range():
    with pytest.raises(ValueError):
        next_state(None, 6, T0)


def test_missed_key_point_due_next_day():
    state = next_key_point_state(None, False, T0)
    assert state == KeyPointState(
        times_covered=0, streak=0, mastered=False, due_at=T0 + timedelta(days=1)
    )


def test_key_point_mastered_after_two_covered_in_a_row():
    once = next_key_point_state(None, True, T0)
    assert (once.times_covered, once.streak, once.mastered, once.due_at) == (1, 1, False, None)
    twice = next_key_point_state(once, True, T0)
    assert (twice.streak, twice.mastered) == (2, True)


def test_miss_breaks_the_streak_and_mastery():
    state = next_key_point_state(None, True, T0)
    state = next_key_point_state(state, False, T0)  # covered, missed: no mastery
    state = next_key_point_state(state, True, T0)
    assert not state.mastered and state.times_covered == 2 and state.streak == 1
    state = next_key_point_state(state, True, T0)
    assert state.mastered
    lost = next_key_point_state(state, False, T0)
    assert not lost.mastered and lost.streak == 0 and lost.times_covered == 3
    assert lost.due_at == T0 + timedelta(days=1)


def test_interval_is_capped_so_long_streaks_never_overflow_dates():
    from datetime import UTC, datetime

    from bot.tutor.scheduling import MAX_INTERVAL_DAYS, next_state

    now = datetime(2026, 1, 1, tzinfo=UTC)
    state = None
    for _ in range(60):
        state = next_state(state, 5, now)
    assert state.interval_days == MAX_INTERVAL_DAYS
