"""A mock-interview night as a state machine: pure logic, no discord, no I/O, no clock of its own.

    lobby --start--> open --close--> reveal --next--> open ... --> finished
                      ^  \\--pause--> paused --resume--/ (open or reveal)
                      skip: closes the open round unscored and moves on at once

Every time is an absolute epoch second passed in by the caller (`now`). A phase ends at a stored
`deadline`, never "N seconds after something", so a restart or a slow grade never stretches a
round: whoever looks next (the timer, a restarted bot) sees the deadline has passed and acts.
Participants may join late and leave at any time; their answers stay and count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.enums import Difficulty, NightMode, NightState, Role
from bot.domain.errors import UserError

LOBBY, OPEN, REVEAL, PAUSED, FINISHED = NightState
STATES = tuple(NightState)
WEAK_BELOW = 0.6  # a round scored under this counts against its topics


class NightError(UserError):
    """An action that does not fit the night right now; the message says why."""


@dataclass
class Participant:
    user_id: int
    name: str
    joined_at: float
    left_at: float | None = None
    role: Role | None = None  # interviewer mode only
    partner_id: int | None = None

    @property
    def present(self) -> bool:
        return self.left_at is None


@dataclass
class Answer:
    user_id: int
    submitted_at: float
    seconds: float  # answer time within the round, pauses excluded
    text: str = ""
    verdict: str | None = None  # None until graded
    score: float | None = None
    covered: tuple[bool, ...] = ()  # per key point, from the grader
    marks: tuple[bool | None, ...] = ()  # per key point, from a human interviewer

    @property
    def graded(self) -> bool:
        return self.verdict is not None


@dataclass
class Round:
    number: int  # 1-based
    question_id: str
    opened_at: float
    deadline: float
    closed_at: float | None = None
    skipped: bool = False
    paused_seconds: float = 0.0
    message_id: int | None = None
    answers: dict[int, Answer] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass
class Standing:
    user_id: int
    name: str
    points: float  # sum of scores over scored rounds (0-1 each)
    seconds: float  # total answer time: the tie-break
    answered: int
    present: bool


@dataclass
class Night:
    guild_id: int
    channel_id: int
    host_id: int
    rounds_total: int
    seconds: int
    difficulty: Difficulty | None = None
    topics: tuple[str, ...] = ()
    mode: NightMode = NightMode.GROUP
    id: int | None = None
    thread_id: int | None = None
    lobby_message_id: int | None = None
    state: NightState = LOBBY
    paused_from: NightState | None = None
    remaining: float | None = None  # seconds left in the phase when it was paused
    deadline: float | None = None  # when the current phase ends (open: the round; reveal: next)
    created_at: float = 0.0
    ended_at: float | None = None
    end_note: str | None = None
    participants: dict[int, Participant] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)

    # --- reading ----------------------------------------------------------------------------

    @property
    def current(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def present(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.present]

    @property
    def is_last_round(self) -> bool:
        return len(self.rounds) >= self.rounds_total

    @property
    def asked(self) -> list[str]:
        return [r.question_id for r in self.rounds]

    def all_answered(self) -> bool:
        """Everyone still here has answered the open round (nobody here: not 'everyone')."""
        rnd = self.current
        present = self.present
        # In interviewer mode only candidates answer; interviewers mark.
        present = [p for p in present if p.role is not Role.INTERVIEWER]
        return bool(rnd and present) and all(p.user_id in rnd.answers for p in present)  # type: ignore[union-attr]

    def due(self, now: float) -> str | None:
        """What the timer should do now: 'close' the open round, 'next' round, 'end' the night
        after the last reveal, or nothing."""
        if self.state == OPEN and (now >= (self.deadline or 0) or self.all_answered()):
            return "close"
        if self.state == REVEAL and self.deadline is not None and now >= self.deadline:
            return "next"
        if self.state == REVEAL and self.deadline is None and self.is_last_round:
            # The last reveal has no deadline; the runner ends the night right after showing it,
            # so this is seen only when that did not happen (a restart in between).
            return "end"
        return None

    def require_host(self, user_id: int, what: str) -> None:
        if user_id != self.host_id:
            raise NightError(f"Only the host, <@{self.host_id}>, can {what}.")

    # --- participants -----------------------------------------------------------------------

    def join(self, user_id: int, name: str, now: float) -> Participant:
        if self.state == FINISHED:
            raise NightError("This night is over: look out for the next one.")
        p = self.participants.get(user_id)
        if p is not None and p.present:
            raise NightError("You're already in this night.")
        if p is None:
            p = self.participants[user_id] = Participant(user_id, name, now)
        else:  # coming back keeps earlier answers and points
            p.left_at, p.name = None, name
        return p

    def leave(self, user_id: int, now: float) -> Participant:
        p = self.participants.get(user_id)
        if p is None or not p.present:
            raise NightError("You're not in this night.")
        p.left_at = now
        return p

    # --- host actions ---------------------------------------------------------------------------

    def check_start(self, by: int) -> None:
        """Raise NightError (saying why) unless `by` may start the night now."""
        self.require_host(by, "start the night")
        if self.state != LOBBY:
            raise NightError("The night has already started.")
        if not self.present:
            raise NightError("Nobody has joined yet: press Join first.")

    def start(self, by: int, question_id: str, now: float) -> Round:
        self.check_start(by)
        return self.open_round(question_id, now)

    def open_round(self, question_id: str, now: float) -> Round:
        if self.state not in (LOBBY, REVEAL):
            raise NightError("A round is already running.")
        if self.is_last_round:
            raise NightError("That was the last round.")
        rnd = Round(len(self.rounds) + 1, question_id, now, now + self.seconds)
        self.rounds.append(rnd)
        self.state, self.deadline = OPEN, rnd.deadline
        return rnd

    def close_round(self, now: float, reveal_seconds: float) -> Round:
        """Open -> reveal; after the last round the reveal has no deadline (the night ends)."""
        rnd = self.current
        if self.state != OPEN or rnd is None:
            raise NightError("No round is open.")
        rnd.closed_at = now
        self.state = REVEAL
        self.deadline = None if self.is_last_round else now + reveal_seconds
        return rnd

    def skip(self, by: int, now: float) -> Round:
        """Close the open round unscored; the next one is due at once."""
        self.require_host(by, "skip a round")
        rnd = self.current
        if self.state == PAUSED and self.paused_from == OPEN:
            self.resume(by, now)
        if self.state != OPEN or rnd is None:
            raise NightError("No round is open to skip.")
        rnd.skipped = True
        self.close_round(now, 0.0)
        return rnd

    def next(self, by: int, now: float) -> None:
        """Host: don't wait for the reveal's pause, the next round is due now."""
        self.require_host(by, "move on")
        if self.state != REVEAL:
            raise NightError("The next round can start once this one is revealed.")
        self.deadline = now

    def pause(self, by: int, now: float) -> None:
        self.require_host(by, "pause the night")
        if self.state not in (OPEN, REVEAL):
            raise NightError("There is nothing running to pause.")
        self.remaining = max(0.0, (self.deadline - now)) if self.deadline is not None else None
        self.paused_from, self.state, self.deadline = self.state, PAUSED, None

    def resume(self, by: int, now: float) -> None:
        self.require_host(by, "resume the night")
        if self.state != PAUSED or self.paused_from is None:
            raise NightError("The night isn't paused.")
        rnd = self.current
        if self.paused_from == OPEN and rnd is not None and self.remaining is not None:
            rnd.paused_seconds += max(0.0, now - (rnd.deadline - self.remaining))
            rnd.deadline = now + self.remaining  # the round gets back the time it had left
        self.state = self.paused_from
        self.deadline = None if self.remaining is None else now + self.remaining
        self.paused_from = self.remaining = None

    def end(self, now: float, note: str | None = None, by: int | None = None) -> None:
        """Finish (host: `by`; the bot itself: None). An open round closes with what it has."""
        if by is not None:
            self.require_host(by, "end the night")
        if self.state == FINISHED:
            raise NightError("This night is already over.")
        rnd = self.current
        if rnd is not None and rnd.open:
            rnd.closed_at = now
        self.state, self.deadline, self.ended_at, self.end_note = FINISHED, None, now, note

    # --- answers ------------------------------------------------------------------------------

    def check_answerable(self, user_id: int, round_number: int, now: float | None = None) -> Round:
        """The open round `user_id` may answer now (else NightError saying why); without `now`
        the deadline is not checked (the answer form checks it on submit)."""
        rnd = self.current
        if rnd is None or rnd.number != round_number or not rnd.open:
            raise NightError("That round is closed: wait for the next question.")
        if self.state == PAUSED:
            raise NightError("The night is paused: answer when the host resumes it.")
        if now is not None and now > rnd.deadline:
            raise NightError("Time is up for this round.")
        if user_id in rnd.answers:
            raise NightError("You've already answered this round.")
        return rnd

    def submit(self, user_id: int, name: str, text: str, now: float, round_number: int) -> Answer:
        """Store an answer to the open round (answering also joins a late-comer)."""
        rnd = self.check_answerable(user_id, round_number, now)
        if not text.strip():
            raise NightError("The answer is empty: write a sentence or two in your own words.")
        p = self.participants.get(user_id)
        if p is None or not p.present:
            self.join(user_id, name, now)
        answer = Answer(user_id, now, max(0.0, now - rnd.opened_at - rnd.paused_seconds), text)
        rnd.answers[user_id] = answer
        return answer

    def record_grade(self, round_number: int, user_id: int, verdict: str, score: float,
                     covered: Sequence[bool]) -> Answer:
        answer = self.rounds[round_number - 1].answers[user_id]
        answer.verdict, answer.score, answer.covered = verdict, float(score), tuple(covered)
        return answer

    def mark(self, round_number: int, user_id: int, index: int, value: bool,
             n_points: int) -> Answer:
        """An interviewer's mark on one key point of a candidate's answer."""
        answer = self.rounds[round_number - 1].answers.get(user_id)
        if answer is None:
            raise NightError("Your candidate hasn't answered yet.")
        marks = list(answer.marks) or [None] * n_points
        marks[index] = value
        answer.marks = tuple(marks)
        return answer

    # --- results ------------------------------------------------------------------------------

    def name(self, user_id: int) -> str:
        p = self.participants.get(user_id)
        return p.name if p else str(user_id)

    def ranking(self, rnd: Round) -> list[Answer]:
        """A round's graded answers, best first: by score, then by speed."""
        graded = [a for a in rnd.answers.values() if a.graded]
        return sorted(graded, key=lambda a: (-(a.score or 0.0), a.seconds, a.user_id))

    def scoreboard(self) -> list[Standing]:
        """Everyone who took part, by points, then by total answer time (faster first)."""
        table = {uid: Standing(uid, p.name, 0.0, 0.0, 0, p.present)
                 for uid, p in self.participants.items()}
        for rnd in self.rounds:
            if rnd.skipped:
                continue
            for a in rnd.answers.values():
                s = table.setdefault(a.user_id, Standing(a.user_id, self.name(a.user_id),
                                                         0.0, 0.0, 0, False))
                s.answered += 1
                s.seconds += a.seconds
                s.points += a.score or 0.0
        return sorted(table.values(), key=lambda s: (-round(s.points, 6), s.seconds, s.user_id))

    def weak_topics(self, topics_of: Mapping[str, Sequence[str]], n: int = 3
                    ) -> dict[int, tuple[list[str], list[str]]]:
        """user -> (weakest topics, question ids to review): the rounds this user answered and
        got a grade under WEAK_BELOW, weighted by how badly. A round left unanswered (time ran
        out, the host ended the night) says nothing about what someone knows, and nothing was
        recorded for it that `/review` could bring back, so it never counts."""
        out: dict[int, tuple[list[str], list[str]]] = {}
        for uid in self.participants:
            weight: dict[str, float] = {}
            review: list[str] = []
            for rnd in self.rounds:
                answer = rnd.answers.get(uid)
                if rnd.skipped or answer is None or not answer.graded or answer.score is None:
                    continue
                if answer.score < WEAK_BELOW:
                    review.append(rnd.question_id)
                    for topic in topics_of.get(rnd.question_id, ()):
                        weight[topic] = weight.get(topic, 0.0) + WEAK_BELOW - answer.score
            topics = [t for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))][:n]
            out[uid] = (topics, list(dict.fromkeys(review)))
        return out


def missed_most(rnd: Round, n: int = 3) -> list[tuple[int, int, int]]:
    """(key point index, how many missed it, how many were graded): the group's blind spots,
    most missed first; only points someone missed."""
    graded = [a for a in rnd.answers.values() if a.graded and a.covered]
    misses: Counter[int] = Counter()
    for a in graded:
        misses.update(i for i, ok in enumerate(a.covered) if not ok)
    ranked = sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [(i, count, len(graded)) for i, count in ranked]
