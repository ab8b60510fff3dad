"""Spaced repetition for questions (SM-2) and for their key points. Pure logic: no I/O, no clock.

Question level: SM-2 (Wozniak 1990), fed by the automatic grade instead of a self-rating.

1. Quality q in 0..5 comes from the grade (`quality_from_grade`):
   incorrect -> 1 (score < 0.2) or 2; partial -> 3; correct -> 4, or 5 when score >= 0.85.
   Each hint used costs one point (at most two), but a correct answer never drops below 3:
   it was still recalled, just with help. (The score itself is already capped by the grader.)
2. Ease factor: EF' = EF + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02)), never below 1.3.
   It is updated after every review, failed ones included (as in the reference pseudo-code),
   so an often-failed question comes back more often even after it is learnt again.
3. q >= 3 (recalled): repetitions += 1 and the interval is 1 day for the first repetition,
   6 days for the second, then the previous interval * EF (the EF from before this review),
   rounded up to whole days.
   q < 3 (forgotten): repetitions reset to 0, the interval is 1 day and `lapses` += 1.
4. due_at = now + interval, the interval capped at MAX_INTERVAL_DAYS (a year).

Key point level (the grader reports, per attempt, which key points the answer covered):

- missed  -> streak 0, not mastered, due the next day (KEY_POINT_RETRY), so the question comes back
  soon with that key point to focus on. A miss also takes mastery away: it was just forgotten.
- covered -> times_covered += 1, streak += 1, and no key-point due date (the question's own SM-2
  schedule brings it back). It is *mastered* once covered in MASTERY_STREAK (2) attempts in a row,
  so one lucky answer is not enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

INITIAL_EASE = 2.5
MIN_EASE = 1.3
FIRST_INTERVAL_DAYS = 1
SECOND_INTERVAL_DAYS = 6
MAX_INTERVAL_DAYS = 365
PASSING_QUALITY = 3

MASTERY_STREAK = 2
KEY_POINT_RETRY = timedelta(days=1)

_EXCELLENT_SCORE = 0.85
_HOPELESS_SCORE = 0.2
_MAX_HINT_PENALTY = 2


@dataclass(frozen=True)
class ReviewState:
    """The SM-2 state of one (user, question) pair."""

    ease: float
    interval_days: float
    repetitions: int
    due_at: datetime
    lapses: int = 0

    @classmethod
    def new(cls, now: datetime) -> ReviewState:
        """A never-reviewed question: due now, default ease."""
        return cls(ease=INITIAL_EASE, interval_days=0, repetitions=0, due_at=now, lapses=0)


@dataclass(frozen=True)
class KeyPointState:
    """Progress on one key point of one question for one user."""

    times_covered: int = 0
    streak: int = 0  # consecutive attempts that covered it
    mastered: bool = False
    due_at: datetime | None = None  # set while the last attempt missed it


def quality_from_grade(verdict: str, score: float, hints_used: int = 0) -> int:
    """Map an automatic grade to SM-2 quality 0..5 (see the module docstring)."""
    if verdict == "correct":
        base = 5 if score >= _EXCELLENT_SCORE else 4
        floor = PASSING_QUALITY
    elif verdict == "partial":
        base, floor = 3, 0
    elif verdict == "incorrect":
        base, floor = (1 if score < _HOPELESS_SCORE else 2), 0
    else:
        raise ValueError(f"unknown verdict {verdict!r}")
    penalty = min(max(hints_used, 0), _MAX_HINT_PENALTY)
    return max(base - penalty, floor)


def updated_ease(ease: float, quality: int) -> float:
    miss = 5 - quality
    return max(MIN_EASE, ease + (0.1 - miss * (0.08 + miss * 0.02)))


def next_state(state: ReviewState | None, quality: int, now: datetime) -> ReviewState:
    """The SM-2 state after a review of the given quality at `now` (None: first review)."""
    if not 0 <= quality <= 5:
        raise ValueError(f"quality must be 0..5, got {quality}")
    state = state or ReviewState.new(now)
    if quality >= PASSING_QUALITY:
        repetitions = state.repetitions + 1
        if repetitions == 1:
            interval = FIRST_INTERVAL_DAYS
        elif repetitions == 2:
            interval = SECOND_INTERVAL_DAYS
        else:
            # round() first so float noise (6 * 2.5 = 15.000000000000002) does not add a day.
            # Capped: a long streak of correct answers must not push due dates past any calendar.
            interval = min(MAX_INTERVAL_DAYS, math.ceil(round(state.interval_days * state.ease, 6)))
        lapses = state.lapses
    else:
        repetitions, interval, lapses = 0, FIRST_INTERVAL_DAYS, state.lapses + 1
    return ReviewState(
        ease=updated_ease(state.ease, quality),
        interval_days=float(interval),
        repetitions=repetitions,
        due_at=now + timedelta(days=interval),
        lapses=lapses,
    )


def next_key_point_state(
    state: KeyPointState | None, covered: bool, now: datetime
) -> KeyPointState:
    """Key point progress after one attempt that covered (or missed) it."""
    state = state or KeyPointState()
    if not covered:
        return replace(state, streak=0, mastered=False, due_at=now + KEY_POINT_RETRY)
    streak = state.streak + 1
    return KeyPointState(
        times_covered=state.times_covered + 1,
        streak=streak,
        mastered=streak >= MASTERY_STREAK,
        due_at=None,
    )
