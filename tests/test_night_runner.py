"""The mock-night runner without Discord: a fake output, a real MockStore on SQLite, a stand-in
grader. Timers close rounds on their deadline, settle grades what was stored, resume picks a
night up after a restart (bot/tutor/night_runner.py)."""

from __future__ import annotations

import asyncio
import time

from bot.domain.results import GradeResult, KeyPointResult
from bot.storage.mock import MockStore
from bot.storage.progress import ProgressStore
from bot.tutor.chooser import QuestionChooser
from bot.tutor.night import FINISHED, REVEAL, Night
from bot.tutor.night_runner import NightRunner


class Output:
    """Records what a night would show, in order."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, int]] = []  # (what, round number)
        self.message_ids = iter(range(1000, 2000))

    async def wait_until_ready(self) -> None:
        pass

    def serves(self, guild_id: int) -> bool:
        return guild_id == 1

    def _show(self, what: str, night: Night) -> None:
        self.shown.append((what, night.current.number if night.current else 0))

    async def post_round(self, night: Night) -> int | None:
        self._show("round", night)
        return next(self.message_ids)

    async def refresh_round(self, night: Night) -> None:
        self._show("refresh", night)

    async def post_reveal(self, night: Night) -> None:
        self._show("reveal", night)

    async def post_final(self, night: Night, scheduled: dict[int, set[str]]) -> None:
        self._show("final", night)

    async def refresh_lobby(self, night: Night) -> None:
        self._show("lobby", night)

    async def note(self, night: Night, text: str) -> None:
        self._show("note", night)

    def kinds(self) -> list[str]:
        return [what for what, _ in self.shown if what != "refresh"]


class Grader:
    """Every answer correct, every key point covered: the runner's flow, not grading, is tested."""

    def __init__(self, kb) -> None:
        self.kb = kb
        self.graded: list[str] = []

    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        self.graded.append(answer)
        entry = self.kb.entries[question_id]
        return GradeResult(question_id, "correct", 0.9,
                           [KeyPointResult(kp.text, True, 0.9, kp.required) for kp in entry.key_points],
                           [], "ok", entry.reference_answer)


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def runner_for(kb, output, store, progress, grader) -> NightRunner:
    runner = NightRunner(output, store, grader, progress, QuestionChooser(kb, progress))
    runner.reveal_seconds = 0.2
    runner.countdown_every = 0.5
    return runner


async def stored_night_with_one_answer(kb, store, text: str, seconds: int, close_at: float | None = None):
    """A one-round night with ana's answer, saved as a process that then died would have left it
    (the round closed at `close_at`, or still open)."""
    now = time.time()
    night = Night(1, 10, 100, rounds_total=1, seconds=seconds, created_at=now)
    night.join(200, "ana", now)
    night.open_round(next(iter(kb.entries)), now)
    answer = night.submit(200, "ana", text, now, 1)
    if close_at is not None:
        night.close_round(close_at, 0.2)
    await store.save(night)
    await store.add_answer(night.id, 1, answer)
    return night


async def test_a_night_runs_to_its_scoreboard_without_discord(kb, sqlite_url):
    progress = await ProgressStore.open(sqlite_url)
    store = MockStore(progress.database)
    output, grader = Output(), Grader(kb)
    runner = runner_for(kb, output, store, progress, grader)
    try:
        night = Night(1, 10, 100, rounds_total=2, seconds=30, created_at=time.time())
        await runner.host(night)
        await runner.join(night, 200, "ana")
        night.check_start(100)
        await runner.open_next(night)
        await runner.submit(night, 200, "ana", "my answer to round one", 1)
        # Everyone answered: the timer closes the round at once, reveals, then opens round 2.
        await wait_for(lambda: ("round", 2) in output.shown)
        await runner.submit(night, 200, "ana", "my answer to round two", 2)
        await wait_for(lambda: night.state == FINISHED and ("final", 2) in output.shown)
        assert output.kinds() == ["round", "reveal", "round", "reveal", "final"]
        assert grader.graded == ["my answer to round one", "my answer to round two"]
        stored = await store.load(night.id)
        assert stored is not None and stored.state == FINISHED
        assert [a.score for r in stored.rounds for a in r.answers.values()] == [0.9, 0.9]
        assert len(await progress.recent_attempts("200")) == 2  # counts for /review
    finally:
        await runner.close()
        await progress.close()


async def test_resume_after_a_restart_grades_stored_answers_and_carries_on(kb, sqlite_url):
    progress = await ProgressStore.open(sqlite_url)
    store = MockStore(progress.database)
    # A night stored mid-round by a process that died before grading the answer it had stored.
    night = await stored_night_with_one_answer(kb, store, "stored, never graded", seconds=1)

    output, grader = Output(), Grader(kb)
    second = runner_for(kb, output, store, progress, grader)
    try:
        await second.resume_all()
        assert output.kinds()[:1] == ["note"]  # "I restarted: ..."
        await wait_for(lambda: ("final", 1) in output.shown)  # the deadline passed meanwhile
        assert grader.graded == ["stored, never graded"]  # settled before the reveal
        assert output.kinds() == ["note", "reveal", "final"]
        stored = await store.load(night.id)
        assert stored is not None and stored.state == FINISHED
        assert stored.rounds[0].answers[200].graded
    finally:
        await second.close()
        await progress.close()


async def test_host_steps_are_checked_by_the_night(kb, sqlite_url):
    progress = await ProgressStore.open(sqlite_url)
    store = MockStore(progress.database)
    runner = runner_for(kb, Output(), store, progress, Grader(kb))
    try:
        night = Night(1, 10, 100, rounds_total=3, seconds=30, created_at=time.time())
        await runner.host(night)
        await runner.join(night, 200, "ana")
        await runner.open_next(night)
        for who, ok in ((200, False), (100, True)):
            try:
                await runner.host_step(night, "skip", who)
            except Exception as exc:
                assert not ok and "Only the host" in str(exc)
            else:
                assert ok
        assert night.state == REVEAL and night.rounds[0].skipped
    finally:
        await runner.close()
        await progress.close()


async def test_restart_after_the_last_reveal_still_ends_the_night(kb, sqlite_url):
    progress = await ProgressStore.open(sqlite_url)
    store = MockStore(progress.database)
    # Stored by a process that died after revealing the last round, before ending the night:
    # the last reveal has no deadline, so nothing but the runner itself ends the night.
    night = await stored_night_with_one_answer(kb, store, "answered before the restart", seconds=30,
                                               close_at=time.time() + 1)
    assert night.state == REVEAL and night.deadline is None

    output, grader = Output(), Grader(kb)
    second = runner_for(kb, output, store, progress, grader)
    try:
        await second.resume_all()
        await wait_for(lambda: ("final", 1) in output.shown, timeout=5.0)
        assert output.kinds() == ["note", "final"]  # the reveal was shown before the restart
        assert grader.graded == ["answered before the restart"]  # settled for the scoreboard
        stored = await store.load(night.id)
        assert stored is not None and stored.state == FINISHED
        assert second.nights.get(night.id) is None
    finally:
        await second.close()
        await progress.close()
