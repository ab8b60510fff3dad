"""Prometheus metrics without prometheus-client: a tiny in-process registry and a text endpoint.

Off unless GRADCHECK_METRICS_PORT is set; then `gradcheck discord` serves
http://GRADCHECK_METRICS_HOST:PORT/metrics (text exposition format 0.0.4) from a daemon thread
with its own event loop, so a slow scrape never touches the bot's loop. Recording is always on
and costs a lock and an addition: GradingService calls `record_batch` once per model call.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

# Seconds, from one warm answer (~30 ms on 2 cores) to a saturated queue.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str):
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str):
        super().__init__(name, help_text)
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        with self._lock:
            self.value += amount

    def samples(self) -> list[str]:
        return [f"{self.name} {_number(self.value)}"]


class Gauge(_Metric):
    """A value that goes up and down; or, with `function`, read at scrape time."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, function: Callable[[], float] | None = None):
        super().__init__(name, help_text)
        self.value = 0.0
        self.function = function

    def set(self, value: float) -> None:
        with self._lock:
            self.value = value

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.inc(-amount)

    def samples(self) -> list[str]:
        value = self.function() if self.function else self.value
        return [f"{self.name} {_number(value)}"]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Iterable[float] = LATENCY_BUCKETS):
        super().__init__(name, help_text)
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, times: int = 1) -> None:
        with self._lock:
            self.counts[bisect_left(self.bounds, value)] += times
            self.sum += value * times
            self.count += times

    def samples(self) -> list[str]:
        with self._lock:
            counts, total, count = list(self.counts), self.sum, self.count
        lines, running = [], 0
        for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
            running += n  # Prometheus buckets are cumulative
            lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {running}')
        lines += [f"{self.name}_sum {_number(total)}", f"{self.name}_count {count}"]
        return lines


class Registry:
    def __init__(self):
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> _Metric:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str) -> Counter:
        return self._add(Counter(name, help_text))  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str, function: Callable[[], float] | None = None) -> Gauge:
        return self._add(Gauge(name, help_text, function))  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str,
                  buckets: Iterable[float] = LATENCY_BUCKETS) -> Histogram:
        return self._add(Histogram(name, help_text, buckets))  # type: ignore[return-value]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines += metric.header() + metric.samples()
        return "\n".join(lines) + "\n"


def _rss_bytes() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    return math.nan


clock = time.perf_counter  # what GradingService times its batches with

REGISTRY = Registry()
ANSWERS_GRADED = REGISTRY.counter("gradcheck_answers_graded_total", "Answers graded.")
GRADE_BATCHES = REGISTRY.counter("gradcheck_grade_batches_total",
                                 "Model calls that graded them (answers arriving together share one).")
GRADE_LATENCY = REGISTRY.histogram(
    "gradcheck_grade_latency_seconds",
    "Time to grade an answer: its batch's model call, counted once per answer in the batch.",
)
ACTIVE_SESSIONS = REGISTRY.gauge("gradcheck_active_sessions",
                                 "Mock-interview nights running in this process (solo quizzes keep no state).")
REGISTRY.gauge("process_resident_memory_bytes", "Resident memory of this process.", _rss_bytes)


def record_batch(answers: int, seconds: float) -> None:
    """One model call graded `answers` answers in `seconds` (called by GradingService)."""
    ANSWERS_GRADED.inc(answers)
    GRADE_BATCHES.inc()
    GRADE_LATENCY.observe(seconds, times=answers)


# --- the endpoint -----------------------------------------------------------------------------


class MetricsServer:
    """aiohttp on its own thread and loop. `port` is the bound port (useful with port 0)."""

    def __init__(self, host: str, port: int, registry: Registry = REGISTRY):
        self.host, self.port, self.registry = host, port, registry
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None  # aiohttp's AppRunner, imported only when serving
        self._thread: threading.Thread | None = None

    def start(self) -> MetricsServer:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # e.g. the port is taken: reported by start()
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="gradcheck-metrics", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    async def _serve(self) -> None:
        from aiohttp import web

        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(body=self.registry.render().encode(),
                                headers={"Content-Type": CONTENT_TYPE})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def start_server(host: str, port: int, registry: Registry = REGISTRY) -> MetricsServer:
    return MetricsServer(host, port, registry).start()
