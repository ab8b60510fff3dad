"""Start-up: builds the process's parts once, in order, and hands them to the front ends.

settings -> runtime (knowledge, model, index, grader, retriever; loaded off the event loop) ->
database (opened and migrated once: one engine per process) -> the stores on it -> the grading
service -> the question chooser. The Discord bot, the terminal tutor and `gradcheck db upgrade`
get them from here instead of each opening its own (RoboDanny's launcher, discord.py's
examples/advanced_startup.py). `close()` undoes it in reverse order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.app.runtime import Runtime
from bot.app.service import GradingService
from bot.app.settings import Settings
from bot.storage.database import Database
from bot.storage.mock import MockStore
from bot.storage.progress import ProgressStore
from bot.storage.qotd import QotdStore
from bot.tutor.chooser import QuestionChooser


async def open_database(settings: Settings) -> Database:
    """The settings' database, migrated; StorageError (one line) when it cannot be used."""
    return await Database.open(settings.resolved_database_url)


@dataclass
class Services:
    settings: Settings
    runtime: Runtime
    database: Database
    progress: ProgressStore
    qotd: QotdStore
    mocks: MockStore
    grading: GradingService
    chooser: QuestionChooser

    @classmethod
    async def open(cls, settings: Settings, runtime: Runtime | None = None) -> Services:
        runtime = runtime or Runtime(settings)
        await asyncio.to_thread(lambda: (runtime.grader, runtime.retriever))  # model + index
        database = await open_database(settings)
        progress = ProgressStore(database)
        return cls(
            settings=settings,
            runtime=runtime,
            database=database,
            progress=progress,
            qotd=QotdStore(database),
            mocks=MockStore(database),
            grading=GradingService(runtime.grader, runtime.retriever),
            chooser=QuestionChooser(runtime.kb, progress),
        )

    async def close(self) -> None:
        await self.grading.close()
        await self.database.close()
