"""Async grading for the bots: requests arriving together are graded together.

Each `grade()` call queues its answer; a single worker takes everything waiting (up to
`max_batch`), encodes all their sentences in one model call off the event loop, and resolves each
caller's future. Under load that amortises the model's per-call cost; alone, an answer waits at
most `max_wait` seconds for company.

The worker must never die while callers wait on it, or every later answer would hang:

- a caller that gave up (an interaction timed out, a task cancelled at shutdown) has a cancelled
  future; the worker skips it and never resolves a future twice;
- a batch whose model call fails is graded again item by item, so one bad answer fails only its
  own caller and the others get their results;
- any other error in the worker is logged and the loop goes on; if the worker task still stops
  (cancelled from outside, a bug), the answers it held fail with `ServiceStopped` instead of
  hanging, and the next `grade()` starts a new worker (an unexpected crash restarts it at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.app import metrics
from bot.domain.errors import UserError
from bot.domain.results import AskResult, GradeResult
from bot.grading.grader import Grader
from bot.retrieval.retriever import Retriever

log = logging.getLogger(__name__)


class ServiceStopped(RuntimeError):
    """The grading worker stopped (service closed, task cancelled) before grading this answer."""

    def __init__(self) -> None:
        super().__init__("the grading service stopped before this answer was graded; try again")


@dataclass
class _Request:
    question_id: str
    answer: str
    hints_used: int
    future: asyncio.Future


def _settle(future: asyncio.Future, result=None, error: BaseException | None = None) -> None:
    """Resolve a caller's future unless it is already done (its caller gave up)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GradingService:
    def __init__(self, grader: Grader, retriever: Retriever | None = None,
                 max_batch: int = 64, max_wait: float = 0.01):
        self.grader = grader
        self.retriever = retriever
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: list[_Request] = []
        self.batches = 0  # how many model calls served the requests (for tests and metrics)
        self.restarts = 0  # how many times a stopped worker was replaced

    async def grade(self, question_id: str, answer: str, hints_used: int = 0) -> GradeResult:
        # Bad input fails fast, in the caller, without occupying a batch slot.
        self.grader.check_item(question_id, answer)
        queue = self._ensure_worker()
        future = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Request(question_id, answer, hints_used, future))
        return await future

    async def ask(self, query: str, k: int = 3, context_id: str | None = None) -> AskResult:
        if self.retriever is None:
            raise RuntimeError("GradingService was built without a retriever")
        return await asyncio.to_thread(self.retriever.ask, query, k, context_id)

    # --- the worker ------------------------------------------------------------------------------

    def _ensure_worker(self) -> asyncio.Queue[_Request]:
        """The queue of the running loop, with a live worker behind it (started or restarted)."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            # First use, or a new event loop: a queue and its worker belong to one loop.
            self._queue, self._loop, self._worker = asyncio.Queue(), loop, None
        if self._worker is None or self._worker.done():
            if self._worker is not None:
                self.restarts += 1
                log.warning("grading worker had stopped; starting a new one")
            self._worker = loop.create_task(self._run(self._queue), name="grading-service")
            self._worker.add_done_callback(self._worker_stopped)
        return self._queue

    def _worker_stopped(self, task: asyncio.Task) -> None:
        if task is not self._worker:  # closed, or already replaced
            return
        if task.cancelled():
            # Someone cancelled it (e.g. every task at shutdown): fail what it held instead of
            # leaving its callers waiting; the next grade() starts a new worker.
            log.warning("grading worker was cancelled; failing the answers it held")
            self._fail_waiting(self._queue)
            return
        log.error("grading worker stopped unexpectedly; restarting it", exc_info=task.exception())
        try:
            self._ensure_worker()
        except RuntimeError:  # no running loop any more
            self._fail_waiting(self._queue)

    def _fail_waiting(self, queue: asyncio.Queue[_Request] | None) -> None:
        waiting = list(self._in_flight)
        self._in_flight = []
        while queue is not None and not queue.empty():
            waiting.append(queue.get_nowait())
        for request in waiting:
            _settle(request.future, error=ServiceStopped())

    async def _run(self, queue: asyncio.Queue[_Request]) -> None:
        while True:
            try:
                # Everything taken off the queue is in _in_flight until it is resolved, so a
                # cancellation at any await below can fail it instead of losing it.
                await self._collect(queue)
                live = [r for r in self._in_flight if not r.future.done()]
                if live:
                    await self._grade_batch(live)
            except Exception as exc:  # a bug here must not stop the worker: fail the batch, go on
                log.exception("grading worker error")
                for request in self._in_flight:
                    _settle(request.future, error=exc)
            except BaseException:  # cancelled, or the process is going down: nobody left waiting
                for request in self._in_flight:
                    _settle(request.future, error=ServiceStopped())
                raise
            finally:
                self._in_flight = []

    async def _collect(self, queue: asyncio.Queue[_Request]) -> None:
        batch = self._in_flight = [await queue.get()]
        if queue.qsize() + 1 < self.max_batch and self.max_wait > 0:
            await asyncio.sleep(self.max_wait)  # a moment for company (plain sleep: cancel-safe)
        while len(batch) < self.max_batch and not queue.empty():
            batch.append(queue.get_nowait())

    async def _grade_batch(self, live: list[_Request]) -> None:
        started = metrics.clock()
        outcomes = await asyncio.to_thread(
            self._grade_items, [(r.question_id, r.answer, r.hints_used) for r in live]
        )
        self.batches += 1
        for request, outcome in zip(live, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _settle(request.future, error=outcome)
            else:
                _settle(request.future, result=outcome)
        graded = sum(not isinstance(o, BaseException) for o in outcomes)
        if graded:
            try:
                metrics.record_batch(graded, metrics.clock() - started)
            except Exception:  # figures are never worth an answer
                log.exception("recording grading metrics failed")

    def _grade_items(self, items: list[tuple[str, str, int]]) -> list[GradeResult | Exception]:
        """Off the loop: one model call for the batch; if it fails, each item on its own, so one
        bad item costs only its own result."""
        try:
            return list(self.grader.grade_many(items))
        except Exception as exc:
            if len(items) == 1:
                if not isinstance(exc, UserError):
                    log.error("grading an answer to %s failed", items[0][0], exc_info=exc)
                return [exc]
            log.warning("grading a batch of %d failed (%s: %s); grading its answers one by one",
                        len(items), type(exc).__name__, exc)
        outcomes: list[GradeResult | Exception] = []
        for item in items:
            try:
                outcomes.append(self.grader.grade_many([item])[0])
            except Exception as exc:
                if not isinstance(exc, UserError):
                    log.error("grading an answer to %s failed", item[0], exc_info=exc)
                outcomes.append(exc)
        return outcomes

    async def close(self) -> None:
        """Stop the worker; answers still waiting fail with ServiceStopped. grade() works again
        afterwards (with a new worker)."""
        worker, queue = self._worker, self._queue
        self._worker = self._queue = self._loop = None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        self._fail_waiting(queue)
