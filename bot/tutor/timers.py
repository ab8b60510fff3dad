"""The process's timed work in one place: periodic jobs (the question-of-the-day check) and
deadline loops (one per mock night), started by name, tracked, and stopped together.

A job that raises is logged and runs again at its next turn: one bad post must not stop the
question of the day for every server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("gradcheck.timers")


class Timers:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task] = {}

    def every(self, name: str, seconds: float, job: Callable[[], Awaitable[None]], *,
              first: Callable[[], Awaitable[object]] | None = None) -> None:
        """Run `job` now (after `first`, e.g. waiting until connected), then every `seconds`."""

        async def loop() -> None:
            if first is not None:
                await first()
            while True:
                try:
                    await job()
                except Exception:
                    log.exception("timed job %s failed; trying again in %.0f s", name, seconds)
                await asyncio.sleep(seconds)

        self.start(name, loop)

    def start(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task:
        """Start `run()` as the task `name`, unless that task is still running."""
        task = self._tasks.get(name)
        if task is None or task.done():
            task = self._tasks[name] = asyncio.create_task(run(), name=name)
        return task

    async def stop(self, prefix: str = "") -> None:
        """Cancel the tasks whose name starts with `prefix` (all by default) and wait for them."""
        tasks = [t for n, t in self._tasks.items() if n.startswith(prefix)]
        for name in [n for n in self._tasks if n.startswith(prefix)]:
            del self._tasks[name]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
