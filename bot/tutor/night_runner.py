"""Runs mock nights: every change under the night's lock and saved before it is shown, one timer
task per night acting on its stored deadline, grading, settling and resuming after a restart.

The runner decides nothing itself (bot.tutor.night does) and shows nothing itself: it talks to a
`NightOutput` (the Discord cog's messages, or a test's fake) and keeps nights in a `NightStore`
(bot.storage.mock.MockStore). So timers, settle and resume run and can be tested without Discord.

Answers are stored the moment they are submitted and graded afterwards (micro-batched by the
grading service); a restart between the two loses nothing: `settle` grades what was stored but
never graded before a round is revealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.domain.enums import Difficulty
from bot.domain.errors import StorageError
from bot.tutor.chooser import QuestionChooser, night_topics
from bot.tutor.night import (
    FINISHED,
    LOBBY,
    OPEN,
    PAUSED,
    REVEAL,
    Answer,
    Night,
    NightError,
)
from bot.tutor.night_io import Grader, NightOutput, NightStore, Progress
from bot.tutor.pairs import check_marker
from bot.tutor.timers import Timers

log = logging.getLogger("gradcheck.discord")
T = TypeVar("T")


@dataclass
class Live:
    """What the runner keeps beside each running night."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change at a time
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # the timer should look again
    dirty: bool = False  # the round message needs a refresh
    grading: set[asyncio.Task] = field(default_factory=set)  # grades in flight


class NightRunner:
    countdown_every = 20.0  # seconds between countdown edits of a round message
    refresh_after = 2.0  # "who has answered" edits are coalesced into one per this many seconds
    reveal_seconds = 45.0  # pause after a reveal before the next round (the host may skip it)

    def __init__(self, output: NightOutput, store: NightStore, grader: Grader, progress: Progress,
                 chooser: QuestionChooser, *, timers: Timers | None = None,
                 track: Callable[[asyncio.Task], None] = lambda t: None):
        self.output, self.store, self.grader, self.progress = output, store, grader, progress
        self.chooser = chooser
        self.timers = timers or Timers()  # one timer task per night, named mock-night-<id>
        self.track = track  # a stopping bot waits for the grading tasks it is given
        self.nights: dict[int, Night] = {}  # the nights this process runs
        self.live: defaultdict[int, Live] = defaultdict(Live)  # and what goes with each
        self.closing = False

    # --- bookkeeping --------------------------------------------------------------------------

    def pick(self, night: Night) -> str:
        return self.chooser.for_night(night.topics, night.difficulty, night.asked).id

    async def get(self, night_id: int) -> Night:
        night = self.nights.get(night_id)
        if night is None:
            stored = await self.store.load(night_id)
            if stored is None or stored.state != FINISHED:
                raise NightError("I don't know this night (it may run on another bot process).")
            raise NightError("This night is over: `/mock history` has its results.")
        return night

    def night_in(self, channel_id: int | None) -> Night:
        """The night running in a channel or its thread (the latest, if several)."""
        night = next((n for n in reversed(self.nights.values())
                      if channel_id in (n.thread_id, n.channel_id)), None)
        if night is None:
            raise NightError("There is no mock night running here: start one with `/mock start`.")
        return night

    def poke(self, night_id: int, *, dirty: bool = False) -> None:
        if dirty:
            self.live[night_id].dirty = True
        self.live[night_id].wake.set()

    def ensure_timer(self, night: Night) -> None:
        night_id = night.id
        assert night_id is not None
        self.timers.start(f"mock-night-{night_id}", lambda: self.run_timer(night_id))

    def start_resuming(self) -> None:
        self.timers.start("mock-resume", self.resume_all)

    async def close(self) -> None:
        self.closing = True
        for live in self.live.values():
            live.wake.set()
        await self.timers.stop("mock-")
        tasks = [t for live in self.live.values() for t in live.grading]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- actions from people ------------------------------------------------------------------

    async def host(self, night: Night) -> None:
        """A new night: fails now, not at round 1, when no question matches its filters."""
        self.pick(night)
        await self.store.save(night)
        assert night.id is not None
        self.nights[night.id] = night

    async def host_new(self, guild_id: int, channel_id: int, host_id: int, rounds: int,
                       seconds: int, difficulty: Difficulty | None, topics: str) -> Night:
        """`host` a night asked for by name: topics as written ("optim, init")."""
        night = Night(guild_id, channel_id, host_id, rounds, seconds, difficulty,
                      night_topics(topics, self.chooser.kb.topics()), created_at=time.time())
        await self.host(night)
        return night

    async def placed(self, night: Night, thread_id: int, lobby_message_id: int) -> None:
        """The night's lobby message and thread exist: keep them, start its timer."""
        night.thread_id, night.lobby_message_id = thread_id, lobby_message_id
        await self.store.save(night)
        self.ensure_timer(night)

    async def host_step(self, night: Night, action: str, by: int) -> None:
        """Pause, resume or skip, by the host (Night checks that)."""
        steps = {"pause": night.pause, "resume": night.resume, "skip": night.skip}
        now = time.time()
        async with self.live[night.id or 0].lock:
            steps[action](by, now)
            if action == "skip" and night.is_last_round:
                night.end(now, "The host skipped the last round.")
            await self.store.save(night)

    async def after_host_step(self, night: Night) -> None:
        """Once the step is shown: the scoreboard if it ended the night, and the timer looks again."""
        if night.state == FINISHED:
            await self.finish(night)
        self.poke(night.id or 0)

    async def next(self, night: Night, by: int) -> None:
        async with self.live[night.id or 0].lock:
            night.next(by, time.time())
            await self.store.save(night)
        self.poke(night.id or 0)

    async def end(self, night: Night, by: int) -> None:
        """The host ends the night early; `finish` then posts the scoreboard."""
        async with self.live[night.id or 0].lock:
            night.end(time.time(), "Ended early by the host.", by=by)
            await self.store.save(night)

    async def submit(self, night: Night, user_id: int, name: str, text: str,
                     round_number: int, stored: Callable[[], object] | None = None) -> Answer:
        """Take an answer: stored before anything else, then graded in the background."""
        night_id = night.id or 0
        async with self.live[night_id].lock:
            p = night.participants.get(user_id)
            joined = p is None or not p.present
            answer = night.submit(user_id, name, text, time.time(), round_number)
            try:
                await self.store.add_answer(night_id, round_number, answer)
                if joined:
                    await self.save_participant(night, user_id)
            except Exception:
                night.rounds[round_number - 1].answers.pop(user_id, None)
                raise
        task = asyncio.create_task(self.grade(night, round_number, user_id))
        self.track(task)  # a stopping bot finishes it (stored already: else graded on resume)
        grading = self.live[night_id].grading
        grading.add(task)
        task.add_done_callback(grading.discard)
        self.poke(night_id, dirty=True)
        return answer

    async def save_participant(self, night: Night, user_id: int) -> None:
        # One row, not the whole night: fifty people may join at once.
        await self.store.save_participant(night.id or 0, night.participants[user_id])

    async def join(self, night: Night, user_id: int, name: str) -> None:
        async with self.live[night.id or 0].lock:
            night.join(user_id, name, time.time())
            await self.save_participant(night, user_id)
        self.poke(night.id or 0, dirty=True)  # the round's "n/m answered" changed

    async def leave(self, night: Night, user_id: int) -> None:
        async with self.live[night.id or 0].lock:
            night.leave(user_id, time.time())
            await self.save_participant(night, user_id)
        self.poke(night.id or 0, dirty=True)

    async def change(self, night: Night, change: Callable[[], T]) -> T:
        """Any other change to the night (e.g. pairing people up), under its lock, then saved."""
        async with self.live[night.id or 0].lock:
            done = change()
            await self.store.save(night)
        self.poke(night.id or 0, dirty=True)
        return done

    async def mark(self, night: Night, by: int, round_number: int, candidate: int, index: int,
                   value: bool) -> None:
        """An interviewer marks one key point of their candidate's answer."""
        check_marker(night, by, candidate)
        qid = night.rounds[round_number - 1].question_id
        n_points = len(self.chooser.kb.entries[qid].key_points)
        async with self.live[night.id or 0].lock:
            answer = night.mark(round_number, candidate, index, value, n_points)
            await self.store.set_grade(night.id or 0, round_number, answer)

    # --- the flow -----------------------------------------------------------------------------

    async def grade(self, night: Night, round_number: int, user_id: int) -> None:
        rnd = night.rounds[round_number - 1]
        answer = rnd.answers[user_id]
        result = await self.grader.grade(rnd.question_id, answer.text)
        async with self.live[night.id or 0].lock:
            night.record_grade(round_number, user_id, result.verdict, result.score,
                               [kp.covered for kp in result.key_points])
        await self.store.set_grade(night.id or 0, round_number, answer)
        try:  # the night counts for /review and /stats like any other answer
            await self.progress.record_attempt(
                str(user_id), rnd.question_id, answer.text, result, answer.seconds,
                guild_id=str(night.guild_id))
        except StorageError as exc:
            log.warning("mock night %s: progress not recorded for %s: %s", night.id, user_id, exc)

    async def settle(self, night: Night) -> None:
        """Wait for the grades in flight, then grade answers stored but never graded (a restart
        between the two)."""
        pending = list(self.live[night.id or 0].grading)
        if pending:
            await asyncio.wait(pending, timeout=120)
        rnd = night.current
        if rnd is not None:
            left = [uid for uid, a in rnd.answers.items() if not a.graded and a.text.strip()]
            results = await asyncio.gather(*(self.grade(night, rnd.number, uid) for uid in left),
                                           return_exceptions=True)
            for uid, r in zip(left, results, strict=True):
                if isinstance(r, Exception):
                    log.warning("mock night %s: grading %s failed: %s", night.id, uid, r)

    async def open_next(self, night: Night) -> None:
        """The first round (the host's Start passed Night.check_start) or the next one."""
        async with self.live[night.id or 0].lock:
            now = time.time()
            if night.state == LOBBY or (night.state == REVEAL and not night.is_last_round):
                rnd = night.open_round(self.pick(night), now)
            else:
                return
            await self.store.save(night)
            rnd.message_id = await self.output.post_round(night)
            await self.store.save(night)
        self.ensure_timer(night)
        self.poke(night.id or 0)

    async def close_round(self, night: Night) -> None:
        async with self.live[night.id or 0].lock:
            if night.state != OPEN:
                return
            night.close_round(time.time(), self.reveal_seconds)
            await self.store.save(night)
        await self.settle(night)
        await self.output.refresh_round(night)
        await self.output.post_reveal(night)
        if night.is_last_round:
            await self.end_after_last_round(night)

    async def end_after_last_round(self, night: Night) -> None:
        """The last round is revealed: end the night (unless the host did) and post the scoreboard."""
        async with self.live[night.id or 0].lock:
            if night.state != FINISHED:
                night.end(time.time())
                await self.store.save(night)
        await self.finish(night)

    async def finish(self, night: Night) -> None:
        """Post the final scoreboard (once) and forget the night."""
        if self.nights.pop(night.id or 0, None) is None:
            return
        await self.settle(night)
        if night.current and night.current.message_id:
            await self.output.refresh_round(night)
        await self.output.post_final(night, await self.scheduled_reviews(night))
        if night.lobby_message_id:
            await self.output.refresh_lobby(night)
        self.live[night.id or 0].wake.set()

    async def scheduled_reviews(self, night: Night) -> dict[int, set[str]]:
        """Per player, tonight's questions that have a review schedule (a graded answer was
        recorded), so the scoreboard promises `/review` only for those."""
        out: dict[int, set[str]] = {}
        asked = set(night.asked)
        for uid in night.participants:
            try:
                out[uid] = asked & await self.progress.seen_question_ids(str(uid))
            except StorageError as exc:
                log.warning("mock night %s: reviews of %s unknown: %s", night.id, uid, exc)
                out[uid] = set()
        return out

    async def run_timer(self, night_id: int) -> None:
        """Acts on the stored deadline: closes rounds, starts the next one, edits the countdown."""
        await self.output.wait_until_ready()
        last_edit = 0.0
        live = self.live[night_id]
        event = live.wake
        while not self.closing and (night := self.nights.get(night_id)) is not None \
                and night.state != FINISHED:
            event.clear()
            now = time.time()
            try:
                action = night.due(now)
                if action == "close":
                    await self.close_round(night)
                    continue
                if action == "next":
                    await self.open_next(night)
                    last_edit = time.time()
                    continue
                if action == "end":  # the last round was revealed before a restart
                    await self.end_after_last_round(night)
                    continue
                stale = now - last_edit
                if night.state in (OPEN, PAUSED) and (
                        (live.dirty and stale >= self.refresh_after)
                        or (night.state == OPEN and stale >= self.countdown_every)):
                    live.dirty = False
                    await self.output.refresh_round(night)
                    last_edit = now
            except Exception:  # keep the night alive; the next wake-up tries again
                log.exception("mock night %s: timer step failed", night_id)
                await asyncio.sleep(1.0)
            wait = self.countdown_every - (time.time() - last_edit)
            if live.dirty:
                wait = min(wait, self.refresh_after - (time.time() - last_edit))
            if night.deadline is not None:
                wait = min(wait, night.deadline - time.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, wait)):  # not wait_for: it can eat a cancel
                    await event.wait()

    async def resume_all(self) -> None:
        """Pick up every unfinished night of this process's servers after a restart."""
        await self.output.wait_until_ready()
        for night_id in await self.store.unfinished():
            night = await self.store.load(night_id)
            if night_id in self.nights:
                continue  # started since this process came up: the live copy is the truth
            if night is None or not self.output.serves(night.guild_id):
                continue  # another shard process's server, or the bot left it
            try:
                missing = [q for q in night.asked if q not in self.chooser.kb.entries]
                if missing:
                    raise NightError(f"question {missing[0]} is no longer in the knowledge base")
                self.nights[night_id] = night
                if night.state != LOBBY:
                    await self.output.note(
                        night, "I restarted: this night carries on where it was (a round whose "
                        "time ran out meanwhile is revealed now).")
                self.ensure_timer(night)
            except Exception as exc:  # cannot carry on: close it cleanly, results kept
                log.warning("mock night %s could not resume: %s", night_id, exc)
                self.nights[night_id] = night
                if night.state != FINISHED:
                    night.end(time.time(), f"Closed after a restart ({exc}); results so far "
                                           "are saved.")
                    await self.store.save(night)
                with contextlib.suppress(Exception):
                    await self.finish(night)
                self.nights.pop(night_id, None)
