"""How much one bot process sustains (`gradcheck bench --capacity`), through the bots' real path.

Simulated users answer as fast as they can: each one awaits GradingService.grade (micro-batched,
off the event loop, exactly as the Discord cogs call it) and then records the attempt with
ProgressStore.record_attempt (one transaction: attempt, review, key points), then answers again.
With enough users the model is never idle, so answers per second is the process's ceiling and
the latencies are what a user waits at that ceiling. A second, open-loop phase then offers half
that rate at random (Poisson) moments: the latency a user sees with headroom left.

Answers are the ~80-word development-set answers `gradcheck bench` uses. Everything happens in
this process; Discord's own round trips are not included.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bot.app.bench import _answers, _percentile, proc_status_mb


def _latency_summary(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50_ms": None, "p95_ms": None}
    return {"p50_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * _percentile(latencies, 0.95), 1)}


class _Load:
    """Answers through the service and the store, timing each one end to end."""

    def __init__(self, service, store, answers):
        self.service, self.store, self.answers = service, store, answers
        # Fresh users per run: on a reused database, the same users re-answering the same
        # questions run by run would grow their review intervals without end.
        self.run_id = uuid.uuid4().hex[:8]
        self.latencies: list[float] = []
        self.done = 0
        self._next = 0

    async def one(self, user: str) -> None:
        qid, answer = self.answers[self._next % len(self.answers)]
        self._next += 1
        start = time.perf_counter()
        result = await self.service.grade(qid, answer)
        await self.store.record_attempt(f"capacity-{self.run_id}-{user}", qid, answer, result,
                                        seconds=30.0, guild_id="capacity-bench")
        self.latencies.append(time.perf_counter() - start)
        self.done += 1


async def _saturate(load: _Load, users: int, seconds: float) -> float:
    """Closed loop: `users` answer back to back until time is up. Returns the elapsed time."""
    stop = time.perf_counter() + seconds

    async def user(n: int) -> None:
        while time.perf_counter() < stop:
            await load.one(str(n))

    start = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    return time.perf_counter() - start


async def _offer(load: _Load, rate: float, seconds: float, seed: int = 8) -> float:
    """Open loop: answers arrive at `rate` per second on average, whether or not earlier ones
    are done (as on a real server). Returns the elapsed time, the last answer included."""
    rng = random.Random(seed)
    tasks, n = [], 0
    start = time.perf_counter()
    arrival = start
    while arrival < start + seconds:
        await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
        tasks.append(asyncio.create_task(load.one(str(n % 500))))
        n += 1
        arrival += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


def measure_capacity(seconds: float = 20.0, users: int = 32, runtime=None,
                     database_url: str | None = None, half_load: bool = True) -> dict:
    """Saturate one process for `seconds` with `users` simultaneous answerers, then (half_load)
    offer half the measured rate for seconds / 2. `database_url`: where attempts are recorded
    (default a fresh SQLite file; give the PostgreSQL URL to measure a deployment's path)."""
    from bot.app.runtime import Runtime
    from bot.app.service import GradingService
    from bot.storage.progress import ProgressStore

    load_before = os.getloadavg()[0]  # other work on the machine skews every figure below
    rt = runtime or Runtime()
    grader = rt.grader
    answers = _answers(200)
    grader.grade(*answers[0])  # warm: model, allocator
    for qid, _ in answers:
        grader.reference(qid)

    async def run(url: str) -> dict:
        store = await ProgressStore.open(url)
        service = GradingService(grader)  # the bots' batching defaults
        try:
            await _saturate(_Load(service, store, answers), users, min(2.0, seconds))  # warm-up
            load = _Load(service, store, answers)
            cpu0, batches0 = time.process_time(), service.batches
            elapsed = await _saturate(load, users, seconds)
            cpu = time.process_time() - cpu0
            report = {
                "answers": load.done,
                "seconds": round(elapsed, 2),
                "answers_per_s": round(load.done / elapsed, 2),
                "mean_batch": round(load.done / max(1, service.batches - batches0), 1),
                "cpu_s_per_answer": round(cpu / max(1, load.done), 4),
                **{f"saturated_{k}": v for k, v in _latency_summary(load.latencies).items()},
            }
            if half_load:
                rate = report["answers_per_s"] / 2
                light = _Load(service, store, answers)
                await _offer(light, rate, seconds / 2)
                report["half_load_answers_per_s"] = round(rate, 2)
                report.update({f"half_load_{k}": v
                               for k, v in _latency_summary(light.latencies).items()})
            return report
        finally:
            await service.close()
            await store.close()

    from bot.storage.database import database_label

    with tempfile.TemporaryDirectory(prefix="gradcheck-capacity-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'capacity.sqlite3'}"
        report = asyncio.run(run(url))

    import torch

    cores = len(os.sched_getaffinity(0))
    report = {
        "users": users,
        "database": database_label(url) if database_url else "SQLite (a temporary file)",
        "cores": cores,
        "torch_threads": torch.get_num_threads(),
        **report,
        "answers_per_s_per_core": round(report["answers_per_s"] / cores, 2),
        "answers_per_min": round(60 * report["answers_per_s"]),
        "rss_mb": round(proc_status_mb("VmRSS"), 1),
        "peak_rss_mb": round(proc_status_mb("VmHWM"), 1),
        "load_average_1m_before": round(load_before, 2),
    }
    return report


def format_capacity(report: dict) -> str:
    return "\n".join(f"{key:26} {value}" for key, value in report.items())
