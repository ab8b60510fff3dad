"""The mock-night state machine (bot.tutor.night) and its storage (bot.storage.mock), no Discord."""

from __future__ import annotations

import pytest

from bot.storage.mock import MockStore
from bot.storage.progress import ProgressStore
from bot.tutor.night import (
    FINISHED,
    LOBBY,
    OPEN,
    PAUSED,
    REVEAL,
    Night,
    NightError,
    missed_most,
)
from bot.tutor.pairs import assign_pair, assign_pairs, candidates_of, human_vs_auto, make_pairs

HOST, ANA, BEN, CY = 1, 2, 3, 4
T0 = 1_900_000_000.0


def night(**kw) -> Night:
    n = Night(guild_id=10, channel_id=20, host_id=HOST, rounds_total=kw.pop("rounds", 2),
              seconds=kw.pop("seconds", 60), created_at=T0, **kw)
    for uid, name in ((ANA, "ana"), (BEN, "ben")):
        n.join(uid, name, T0)
    return n


def test_lobby_to_finished_with_early_close_when_everyone_answered():
    n = night()
    assert n.state == LOBBY
    with pytest.raises(NightError, match="Only the host"):
        n.start(ANA, "8.3.65", T0)
    n.start(HOST, "8.3.65", T0 + 1)
    assert n.state == OPEN and n.deadline == T0 + 61
    n.submit(ANA, "ana", "symmetry", T0 + 5, 1)
    assert n.due(T0 + 6) is None  # ben has not answered and time is left
    n.submit(BEN, "ben", "zeros", T0 + 9, 1)
    assert n.due(T0 + 10) == "close"  # everyone here answered: no waiting out the clock
    n.close_round(T0 + 10, reveal_seconds=20)
    assert n.state == REVEAL and n.due(T0 + 29) is None and n.due(T0 + 30) == "next"
    n.open_round("8.3.41", T0 + 30)
    assert n.due(T0 + 90) == "close"  # nobody answered: the stored deadline closes it
    n.close_round(T0 + 90, 20)
    assert n.is_last_round and n.deadline is None  # the last reveal ends the night
    n.end(T0 + 91)
    assert n.state == FINISHED


def test_the_last_reveal_is_due_to_end_even_after_a_pause():
    # The runner ends the night right after the last reveal; a restart in between must not leave
    # it in a reveal nothing ever ends (it has no deadline).
    n = night(rounds=1)
    n.start(HOST, "8.3.65", T0)
    n.close_round(T0 + 10, reveal_seconds=20)
    assert n.state == REVEAL and n.deadline is None and n.due(T0 + 10) == "end"
    n.pause(HOST, T0 + 11)
    assert n.due(T0 + 12) is None  # paused: the host resumes first
    n.resume(HOST, T0 + 13)
    assert n.due(T0 + 13) == "end"


def test_deadline_is_absolute_late_answers_refused_and_no_double_answers():
    n = night(seconds=30)
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "x", T0 + 3, 1)
    with pytest.raises(NightError, match="already answered"):
        n.submit(ANA, "ana", "again", T0 + 4, 1)
    with pytest.raises(NightError, match="Time is up"):
        n.submit(BEN, "ben", "late", T0 + 31, 1)  # e.g. a restart that took too long
    assert n.due(T0 + 30.5) == "close"
    with pytest.raises(NightError, match="round is closed"):
        n.submit(BEN, "ben", "wrong round", T0 + 5, 2)


def test_late_join_and_leaving_mid_round_never_block_the_round():
    n = night()
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "x", T0 + 2, 1)
    n.leave(BEN, T0 + 3)  # ben leaves without answering: ana was the only one left
    assert n.due(T0 + 4) == "close"
    n.close_round(T0 + 4, 10)
    # A late joiner during the reveal answers the next round.
    n.join(CY, "cy", T0 + 5)
    n.open_round("8.3.41", T0 + 14)
    n.submit(CY, "cy", "y", T0 + 20, 2)
    assert n.due(T0 + 21) is None  # ana is still here and has not answered
    with pytest.raises(NightError, match="not in this night"):
        n.leave(BEN, T0 + 22)
    n.join(BEN, "ben", T0 + 23)  # coming back is allowed
    assert {p.user_id for p in n.present} == {ANA, BEN, CY}


def test_answering_joins_a_late_comer():
    n = night()
    n.start(HOST, "8.3.65", T0)
    n.submit(CY, "cy", "hello", T0 + 2, 1)
    assert n.participants[CY].present


def test_pause_resume_keeps_the_time_left_and_excludes_it_from_answer_time():
    n = night(seconds=60)
    n.start(HOST, "8.3.65", T0)
    with pytest.raises(NightError, match="Only the host"):
        n.pause(BEN, T0 + 10)
    n.pause(HOST, T0 + 10)
    assert n.state == PAUSED and n.due(T0 + 500) is None  # the clock stops while paused
    with pytest.raises(NightError, match="paused"):
        n.submit(ANA, "ana", "x", T0 + 20, 1)
    n.resume(HOST, T0 + 100)
    assert n.state == OPEN and n.deadline == T0 + 150 and n.current.deadline == T0 + 150
    a = n.submit(ANA, "ana", "x", T0 + 105, 1)
    assert a.seconds == pytest.approx(15)  # 10 s before the pause + 5 s after


def test_skip_closes_unscored_and_next_round_is_due_at_once():
    n = night(rounds=3)
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "x", T0 + 1, 1)
    n.record_grade(1, ANA, "correct", 0.9, [True, True, True])
    with pytest.raises(NightError, match="Only the host"):
        n.skip(ANA, T0 + 2)
    n.skip(HOST, T0 + 2)
    assert n.state == REVEAL and n.current.skipped and n.due(T0 + 2) == "next"
    assert all(s.points == 0 for s in n.scoreboard())  # a skipped round scores nothing


def test_scoreboard_ranks_by_points_then_speed_and_reveal_summary():
    n = night(rounds=2)
    n.join(CY, "cy", T0)
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "a", T0 + 20, 1)
    n.submit(BEN, "ben", "b", T0 + 10, 1)
    n.submit(CY, "cy", "c", T0 + 5, 1)
    n.record_grade(1, ANA, "correct", 0.8, [True, True, False])
    n.record_grade(1, BEN, "correct", 0.8, [True, False, False])
    n.record_grade(1, CY, "incorrect", 0.1, [False, False, False])
    rnd = n.close_round(T0 + 21, 5)
    assert [a.user_id for a in n.ranking(rnd)] == [BEN, ANA, CY]  # tie on score: faster first
    assert missed_most(rnd) == [(2, 3, 3), (1, 2, 3), (0, 1, 3)]
    board = n.scoreboard()
    assert [s.user_id for s in board] == [BEN, ANA, CY]
    assert board[0].points == pytest.approx(0.8) and board[0].answered == 1


def test_weak_topics_and_review_per_person():
    n = night(rounds=2)
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "a", T0 + 1, 1)
    n.record_grade(1, ANA, "incorrect", 0.2, [False] * 3)
    n.close_round(T0 + 60, 5)  # ben never answered round 1 either
    n.open_round("8.3.41", T0 + 70)
    n.submit(ANA, "ana", "a", T0 + 71, 2)
    n.record_grade(2, ANA, "correct", 0.9, [True] * 3)
    n.close_round(T0 + 130, 5)
    weak = n.weak_topics({"8.3.65": ["initialization"], "8.3.41": ["debugging"]})
    assert weak[ANA] == (["initialization"], ["8.3.65"])
    # Unanswered rounds say nothing and left nothing for /review to bring back.
    assert weak[BEN] == ([], [])


def test_an_unanswered_round_ended_early_is_no_weakness():
    n = night(rounds=2)
    n.start(HOST, "8.3.65", T0)
    n.submit(ANA, "ana", "a", T0 + 1, 1)
    n.record_grade(1, ANA, "correct", 1.0, [True] * 3)
    n.close_round(T0 + 60, 5)
    n.open_round("8.3.41", T0 + 70)
    n.submit(BEN, "ben", "b", T0 + 71, 2)  # answered, but never graded (a restart)
    n.end(T0 + 80, "ended by the host", by=HOST)  # nobody else answered round 2
    weak = n.weak_topics({"8.3.65": ["initialization"], "8.3.41": ["debugging"]})
    assert weak == {ANA: ([], []), BEN: ([], [])}


def test_end_is_host_only_and_closes_the_open_round():
    n = night()
    n.start(HOST, "8.3.65", T0)
    with pytest.raises(NightError, match="Only the host"):
        n.end(T0 + 1, by=ANA)
    n.end(T0 + 2, "ended by the host", by=HOST)
    assert n.state == FINISHED and n.current.closed_at == T0 + 2
    with pytest.raises(NightError, match="over"):
        n.join(CY, "cy", T0 + 3)


def test_pairs():
    assert make_pairs([1, 2, 3, 4]) == [(1, 2), (3, 4)]
    assert make_pairs([1, 2, 3]) == [(1, 2), (1, 3)]
    assert make_pairs([1]) == [(1, None)]


async def test_store_round_trip_and_history(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'mock.sqlite3'}"
    progress = await ProgressStore.open(url)  # migrates
    store = await MockStore.open(url)
    try:
        n = night()
        n.start(HOST, "8.3.65", T0)
        await store.save(n)
        assert n.id is not None
        a = n.submit(ANA, "ana", "my answer", T0 + 3, 1)
        await store.add_answer(n.id, 1, a)  # stored before it is graded
        loaded = await store.load(n.id)
        assert loaded.current.answers[ANA].text == "my answer"
        assert not loaded.current.answers[ANA].graded
        n.record_grade(1, ANA, "partial", 0.5, [True, False, True])
        n.mark(1, ANA, 1, True, 3)
        await store.set_grade(n.id, 1, n.current.answers[ANA])
        n.close_round(T0 + 10, 5)
        await store.save(n)
        assert await store.unfinished() == [n.id]
        loaded = await store.load(n.id)
        assert loaded == n  # everything the night knows survives a restart
        n.end(T0 + 20)
        await store.save(n)
        assert await store.unfinished() == []
        [past] = await store.history(10)
        assert (past.id, past.rounds, past.players, past.winner_id) == (n.id, 1, 2, ANA)
        await store.set_host_role(10, 555)
        assert await store.host_role(10) == 555
    finally:
        await store.close()
        await progress.close()


def test_interviewer_mode_pairs_only_candidates_answer_and_marks_merge():
    n = night()
    n.join(CY, "cy", T0 + 1)
    with pytest.raises(NightError, match="Only the host"):
        assign_pairs(n, ANA)
    assert assign_pairs(n, HOST) == [(ANA, BEN), (ANA, CY)]  # odd: ana interviews two
    assert candidates_of(n, ANA) == [BEN, CY] and n.participants[ANA].role == "interviewer"
    n.start(HOST, "8.3.65", T0 + 2)
    n.submit(BEN, "ben", "b", T0 + 3, 1)
    assert n.due(T0 + 4) is None
    n.submit(CY, "cy", "c", T0 + 5, 1)
    assert n.due(T0 + 6) == "close"  # the interviewer does not answer
    n.record_grade(1, BEN, "partial", 0.5, [True, False, True])
    n.mark(1, BEN, 0, True, 3)
    n.mark(1, BEN, 1, True, 3)
    with pytest.raises(NightError, match="hasn't answered"):
        n.mark(1, ANA, 0, True, 3)
    assert human_vs_auto(n.current.answers[BEN]) == (2, 2, 3)


def test_host_assigns_a_pair_by_hand():
    n = night()
    n.join(CY, "cy", T0 + 1)
    with pytest.raises(NightError, match="Only the host"):
        assign_pair(n, ANA, BEN, CY)
    with pytest.raises(NightError, match="different"):
        assign_pair(n, HOST, BEN, BEN)
    with pytest.raises(NightError, match="Join first"):
        assign_pair(n, HOST, BEN, HOST)  # the host did not join
    assert assign_pair(n, HOST, CY, ANA) == [(CY, ANA)]
    assert candidates_of(n, CY) == [ANA] and n.participants[CY].role == "interviewer"
    # re-pairing a candidate moves them: ana is now ben's candidate, no longer cy's
    assert assign_pair(n, HOST, BEN, ANA) == [(BEN, ANA)]
    assert candidates_of(n, CY) == [] and n.mode == "pairs"
