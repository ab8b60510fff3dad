"""What the night runner (bot.tutor.night_runner) talks to: an output that shows a night (the
Discord cog's, or a test's fake), a store that keeps it (bot.storage.mock.MockStore), a grader
and the progress store. Protocols only: the runner needs no Discord and no database."""

from __future__ import annotations

from typing import Protocol

from bot.domain.results import GradeResult
from bot.tutor.night import Answer, Night, Participant
from bot.tutor.progress import RecordedAttempt


class NightOutput(Protocol):
    """How a night is shown (the Discord cog implements it); errors it can live with it logs."""

    async def wait_until_ready(self) -> None: ...

    def serves(self, guild_id: int) -> bool:
        """This process runs the server's nights (several shard processes share a database)."""
        ...

    async def post_round(self, night: Night) -> int | None:
        """Post the open round; returns its message id (edited for the countdown)."""
        ...

    async def refresh_round(self, night: Night) -> None: ...

    async def post_reveal(self, night: Night) -> None: ...

    async def post_final(self, night: Night, scheduled: dict[int, set[str]]) -> None: ...

    async def refresh_lobby(self, night: Night) -> None: ...

    async def note(self, night: Night, text: str) -> None: ...


class NightStore(Protocol):
    """What the runner keeps (bot.storage.mock.MockStore)."""

    async def save(self, night: Night) -> Night: ...

    async def save_participant(self, night_id: int, p: Participant) -> None: ...

    async def add_answer(self, night_id: int, round_number: int, answer: Answer) -> None: ...

    async def set_grade(self, night_id: int, round_number: int, answer: Answer) -> None: ...

    async def load(self, night_id: int) -> Night | None: ...

    async def unfinished(self) -> list[int]: ...


class Grader(Protocol):
    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult: ...


class Progress(Protocol):
    """A night's graded answers count for /review and /stats like any other."""

    async def record_attempt(self, user_id: str, question_id: str, answer: str,
                             result: GradeResult, seconds: float | None,
                             guild_id: str | None = None) -> RecordedAttempt: ...

    async def seen_question_ids(self, user_id: str) -> set[str]: ...
