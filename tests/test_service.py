"""GradingService must never leave a caller waiting forever: callers that give up mid-batch, a
failing item, a failing batch, a worker that stops. Most tests use a scripted grader (no model,
deterministic timing: a batch stays "in the model" until the test releases it); the last ones use
the real grader with the bots' 50-answer burst."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.app.service import GradingService, ServiceStopped
from bot.domain.errors import EmptyAnswer, UnknownQuestion
from bot.domain.results import GradeResult

WAIT = 10  # seconds before a test calls it a hang


class ScriptedGrader:
    """grade_many blocks until `release()` while `gated`; answers in `failures` raise there."""

    def __init__(self, failures: dict[str, Exception] | None = None, gated: bool = True):
        self.failures = failures or {}
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self._gate = threading.Event()
        if not gated:
            self._gate.set()

    def release(self) -> None:
        self._gate.set()

    def check_item(self, question_id: str, answer: str) -> None:
        if not answer.strip():
            raise EmptyAnswer()

    def grade_many(self, items):
        self.calls.append([answer for _, answer, _ in items])
        self.entered.set()
        assert self._gate.wait(WAIT), "the test never released the grader"
        for _, answer, _ in items:
            if answer in self.failures:
                raise self.failures[answer]
        return [f"graded {answer}" for _, answer, _ in items]


async def in_the_model(grader: ScriptedGrader) -> None:
    """Wait until the worker's batch is inside grade_many."""
    assert await asyncio.to_thread(grader.entered.wait, WAIT)


async def within(awaitable, seconds: float = WAIT):
    return await asyncio.wait_for(awaitable, seconds)


async def test_a_caller_cancelled_mid_batch_with_a_bad_item_does_not_kill_the_worker():
    # The original failure: the UserError branch resolved the cancelled caller's future
    # (InvalidStateError), the worker died, and every later grade() waited forever.
    grader = ScriptedGrader({"stale": UnknownQuestion("8.3.999", ["8.3.65"])})
    service = GradingService(grader, max_wait=0.05)
    try:
        gave_up = asyncio.create_task(service.grade("8.3.65", "gave up"))
        good = asyncio.create_task(service.grade("8.3.65", "good"))
        stale = asyncio.create_task(service.grade("8.3.65", "stale"))
        await in_the_model(grader)
        assert grader.calls == [["gave up", "good", "stale"]]
        gave_up.cancel()
        grader.release()
        assert await within(good) == "graded good"  # not failed by its neighbour
        with pytest.raises(UnknownQuestion):
            await within(stale)
        assert gave_up.cancelled()
        assert await within(service.grade("8.3.65", "later")) == "graded later"
        assert service.restarts == 0
    finally:
        await service.close()


async def test_one_failing_answer_fails_only_its_own_caller():
    grader = ScriptedGrader({"poison": TypeError("tokenizer says no")}, gated=False)
    service = GradingService(grader, max_wait=0.05)
    try:
        answers = ["a", "b", "poison", "c", "d"]
        outcomes = await within(asyncio.gather(
            *(service.grade("8.3.65", a) for a in answers), return_exceptions=True))
        assert outcomes[:2] == ["graded a", "graded b"] and outcomes[3:] == ["graded c", "graded d"]
        assert isinstance(outcomes[2], TypeError)
        assert grader.calls[0] == answers  # one batch first; then item by item after it failed
    finally:
        await service.close()


async def test_fifty_answer_burst_with_callers_giving_up_and_failures_mid_batch():
    failures = {"answer 7": RuntimeError("model fell over"),
                "answer 31": UnknownQuestion("8.3.999", ["8.3.65"])}
    grader = ScriptedGrader(failures)
    service = GradingService(grader)  # the bots' defaults
    try:
        tasks = [asyncio.create_task(service.grade("8.3.65", f"answer {i}")) for i in range(50)]
        await in_the_model(grader)
        assert len(grader.calls[0]) == 50  # one batch
        for task in tasks[::3]:  # a third of the callers give up while the batch is graded
            task.cancel()
        grader.release()
        outcomes = await within(asyncio.gather(*tasks, return_exceptions=True))
        for i, outcome in enumerate(outcomes):
            if i % 3 == 0:
                assert isinstance(outcome, asyncio.CancelledError)
            elif i == 7:
                assert isinstance(outcome, RuntimeError)
            elif i == 31:
                assert isinstance(outcome, UnknownQuestion)
            else:
                assert outcome == f"graded answer {i}"
        # The service still works: another full burst, all graded.
        again = await within(asyncio.gather(*(service.grade("8.3.65", f"next {i}") for i in range(50))))
        assert again == [f"graded next {i}" for i in range(50)]
    finally:
        await service.close()


async def test_callers_cancelled_while_queued_are_skipped():
    grader = ScriptedGrader()
    service = GradingService(grader, max_wait=0)
    try:
        first = asyncio.create_task(service.grade("8.3.65", "first"))
        await in_the_model(grader)
        queued = [asyncio.create_task(service.grade("8.3.65", f"queued {i}")) for i in range(5)]
        await asyncio.sleep(0)
        for task in queued[:4]:
            task.cancel()
        grader.release()
        assert await within(first) == "graded first"
        assert await within(queued[4]) == "graded queued 4"
        assert grader.calls[1] == ["queued 4"]  # the model never saw the abandoned ones
    finally:
        await service.close()


async def test_bad_input_fails_in_the_caller_without_a_batch_slot():
    grader = ScriptedGrader(gated=False)
    service = GradingService(grader)
    try:
        with pytest.raises(EmptyAnswer):
            await service.grade("8.3.65", "   ")
        assert grader.calls == [] and service._worker is None
    finally:
        await service.close()


class Boom(BaseException):
    """Not an Exception: escapes the worker's error handling, so the worker task dies."""


async def test_a_worker_that_dies_is_restarted_and_its_callers_do_not_hang():
    grader = ScriptedGrader({"boom": Boom()}, gated=False)
    service = GradingService(grader, max_wait=0)
    try:
        with pytest.raises(ServiceStopped):
            await within(service.grade("8.3.65", "boom"))
        await asyncio.sleep(0)
        assert service.restarts == 1 and service._worker is not None and not service._worker.done()
        assert await within(service.grade("8.3.65", "fine")) == "graded fine"
    finally:
        await service.close()


async def test_a_worker_cancelled_from_outside_fails_its_callers_and_comes_back():
    # E.g. a shutdown that cancels every task: the answers it held fail, none hang, and the next
    # grade() starts a new worker.
    grader = ScriptedGrader()
    service = GradingService(grader, max_wait=0)
    try:
        in_flight = asyncio.create_task(service.grade("8.3.65", "in flight"))
        await in_the_model(grader)
        queued = asyncio.create_task(service.grade("8.3.65", "queued"))
        await asyncio.sleep(0)
        service._worker.cancel()
        for task in (in_flight, queued):
            with pytest.raises(ServiceStopped):
                await within(task)
        grader.release()
        assert await within(service.grade("8.3.65", "after")) == "graded after"
        assert service.restarts == 1  # a cancelled worker is replaced by the next grade()
    finally:
        await service.close()


async def test_close_fails_waiting_callers_and_the_service_can_be_used_again():
    grader = ScriptedGrader()
    service = GradingService(grader, max_wait=0)
    in_flight = asyncio.create_task(service.grade("8.3.65", "in flight"))
    await in_the_model(grader)
    queued = asyncio.create_task(service.grade("8.3.65", "queued"))
    await asyncio.sleep(0)
    await within(service.close())
    for task in (in_flight, queued):
        with pytest.raises(ServiceStopped):
            await within(task)
    grader.release()
    try:
        assert await within(service.grade("8.3.65", "reopened")) == "graded reopened"
    finally:
        await service.close()


# --- the real grader ------------------------------------------------------------------------------


class Injected:
    """The real grader, with a failure injected for one answer (as a tokenizer error would)."""

    def __init__(self, grader, bad: str):
        self.grader, self.bad = grader, bad
        self.entered = threading.Event()

    def check_item(self, question_id, answer):
        return self.grader.check_item(question_id, answer)

    def grade_many(self, items):
        self.entered.set()
        if any(answer == self.bad for _, answer, _ in items):
            raise TypeError("TextEncodeInput must be Union[TextInputSequence, ...]")
        return self.grader.grade_many(items)


async def test_real_fifty_answer_burst_survives_cancelled_callers_and_a_failure(grader, kb):
    entry = kb.entries["8.3.65"]
    answers = [entry.key_point_texts[i % len(entry.key_points)] + f" ({i})" for i in range(50)]
    bad = answers[17]
    injected = Injected(grader, bad)
    service = GradingService(injected)  # the bots' defaults
    try:
        tasks = [asyncio.create_task(service.grade("8.3.65", a)) for a in answers]
        await in_the_model(injected)
        for task in tasks[1::5]:
            task.cancel()
        outcomes = await within(asyncio.gather(*tasks, return_exceptions=True), 300)
        for i, outcome in enumerate(outcomes):
            if i % 5 == 1:
                assert isinstance(outcome, asyncio.CancelledError)
            elif i == 17:
                assert isinstance(outcome, TypeError)
            else:
                assert isinstance(outcome, GradeResult) and outcome.question_id == "8.3.65"
        later = await within(service.grade("8.3.65", answers[0]), 120)
        assert isinstance(later, GradeResult)
    finally:
        await service.close()
