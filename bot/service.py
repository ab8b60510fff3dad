"""Async grading for the bots: requests arriving together are graded together.

Each `grade()` call queues its answer; a single worker takes everything waiting (up to
`max_batch`), encodes all their sentences in one model call off the event loop, and resolves each
caller's future. Under load that amortises the model's per-call cost; alone, an answer waits at
most `max_wait` seconds for company.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot import metrics
from bot.errors import UserError
from bot.grading import Grader
from bot.results import AskResult, GradeResult
from bot.retrieval import Retriever

log = logging.getLogger(__name__)


@dataclass
class _Request:
    question_id: str
    answer: str
    hints_used: int
    future: asyncio.Future


class GradingService:
    def __init__(self, grader: Grader, retriever: Retriever | None = None,
                 max_batch: int = 64, max_wait: float = 0.01):
        self.grader = grader
        self.retriever = retriever
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] | None = None
        self._worker: asyncio.Task | None = None
        self.batches = 0  # how many model calls served the requests (for tests and metrics)

    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        # Bad input fails fast, in the caller, without occupying a batch slot.
        self.grader.check_item(question_id, answer)
        loop = asyncio.get_running_loop()
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(), name="grading-service")
        future = loop.create_future()
        await self._queue.put(_Request(question_id, answer, hints_used, future))
        return await future

    async def ask(self, query: str, k: int = 3, context_id: str | None = None) -> AskResult:
        if self.retriever is None:
            raise RuntimeError("GradingService was built without a retriever")
        return await asyncio.to_thread(self.retriever.ask, query, k, context_id)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                try:
                    batch.append(self._queue.get_nowait() if timeout <= 0 else
                                 await asyncio.wait_for(self._queue.get(), timeout))
                except (TimeoutError, asyncio.QueueEmpty):
                    break
            live = [r for r in batch if not r.future.done()]
            if not live:
                continue
            started = metrics.clock()
            try:
                results = await asyncio.to_thread(
                    self.grader.grade_many, [(r.question_id, r.answer, r.hints_used) for r in live]
                )
                self.batches += 1
                metrics.record_batch(len(live), metrics.clock() - started)
            except UserError as exc:  # validated already; kept so one bad item never hangs callers
                for r in live:
                    r.future.set_exception(exc)
                continue
            except Exception as exc:
                log.exception("grading batch of %d failed", len(live))
                for r in live:
                    if not r.future.done():
                        r.future.set_exception(exc)
                continue
            for r, result in zip(live, results, strict=True):
                if not r.future.done():
                    r.future.set_result(result)

    async def close(self) -> None:
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
            self._queue = None
