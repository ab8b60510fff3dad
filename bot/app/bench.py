"""Speed and memory figures (`gradcheck bench`), measured in one run so ratios are fair on a noisy,
shared machine. Targets live in README "Measured speed", not in timed tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.app.settings import Settings, get_settings

DEV_SET = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "grading_dev.jsonl"


def _answers(n: int) -> list[tuple[str, str]]:
    """Real answers of about 80 words (60-100) from the development set, cycled to n."""
    rows = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    picked = [(r["question_id"], r["answer"]) for r in rows if 60 <= len(r["answer"].split()) <= 100]
    return [picked[i % len(picked)] for i in range(n)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _timed(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def proc_status_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cold_start(settings: Settings) -> tuple[float, float]:
    """(process start to first grade in a fresh interpreter, that process's RSS in MB): the
    figures of the backend in use alone (index already on disk)."""
    code = (
        "import time; t=time.perf_counter()\n"
        "from bot.app.runtime import Runtime\n"
        "rt = Runtime(); rt.grader.grade('8.3.65', 'Zero weights make every unit identical.')\n"
        "rt.retriever.ask('why not zero init?')\n"
        "from bot.app.bench import proc_status_mb; print(proc_status_mb())\n"
    )
    env = dict(os.environ, GRADCHECK_DATA_DIR=str(settings.data_dir))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, float(done.stdout.strip().splitlines()[-1])


def _grader_for(rt, backend: str):
    from bot.grading.grader import Grader
    from bot.grading.judge import MODEL_DIR, get_judge

    judge = get_judge(backend, cache_dir=rt.settings.onnx_dir, model_dir=rt.settings.judge_model or MODEL_DIR,
                      int8=rt.settings.judge_int8)
    return Grader(rt.kb, judge, rt.grader.similarity, max_chars=rt.settings.max_answer_chars,
                  memory=rt.grader.memory)


def run_bench(burst: int = 50, repeats: int = 40) -> dict:
    from bot.app.runtime import Runtime
    from bot.app.service import GradingService
    from index.embedder import get_embedder
    from index.store import VectorIndex

    settings = get_settings()
    rt = Runtime(settings)
    grader, embedder = rt.grader, rt.embedder
    answers = _answers(repeats)
    report: dict = {"backend": settings.backend, "judge_int8": settings.judge_int8 and settings.backend == "onnx"}
    # Both backends, measured in one run so their ratio is fair on a shared machine.
    for backend in ("torch", "onnx"):
        other = _grader_for(rt, backend)
        enc = get_embedder(settings.model, backend=backend, cache_dir=settings.onnx_dir)
        other.grade(*answers[0])  # warm: model, allocator
        enc.encode([answers[0][1]])
        report[f"encode_ms_p50_{backend}"] = round(statistics.median(
            _timed(lambda a, e=enc: e.encode([a[1]]), answers)), 2)
        report[f"grade_ms_p50_{backend}"] = round(statistics.median(
            _timed(lambda a, g=other: g.grade(a[0], a[1]), answers)), 2)

    grader.grade(*answers[0])
    encode_ms = _timed(lambda a: embedder.encode([a[1]]), answers)
    grade_ms = _timed(lambda a: grader.grade(a[0], a[1]), answers)
    queries = [a[1].split(".")[0][:120] for a in answers]
    ask_ms = _timed(rt.retriever.ask, queries)

    burst_items = _answers(burst)
    start = time.perf_counter()
    for qid, answer in burst_items:
        grader.grade(qid, answer)
    serial_s = time.perf_counter() - start

    async def all_at_once() -> float:
        service = GradingService(grader, max_batch=burst)
        begin = time.perf_counter()
        await asyncio.gather(*(service.grade(q, a) for q, a in burst_items))
        elapsed = time.perf_counter() - begin
        await service.close()
        return elapsed

    burst_s = asyncio.run(all_at_once())

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        VectorIndex.build(rt.kb, embedder.encode, settings.model,
                          encode_tokens=embedder.encode_with_tokens).save(Path(tmp))
        index_build_s = time.perf_counter() - start

    cold_start_s, rss_mb = _cold_start(settings)
    report |= {
        "grade_ms_p50": round(statistics.median(grade_ms), 2),
        "grade_ms_p95": round(_percentile(grade_ms, 0.95), 2),
        "encode_ms_p50": round(statistics.median(encode_ms), 2),
        "ask_ms_p50": round(statistics.median(ask_ms), 2),
        "ask_ms_p95": round(_percentile(ask_ms, 0.95), 2),
        "burst_answers": burst,
        "burst_s": round(burst_s, 3),
        "serial_s": round(serial_s, 3),
        "cold_start_s": round(cold_start_s, 2),
        "index_build_s": round(index_build_s, 2),
        "rss_mb": round(rss_mb, 1),  # the cold-start process: one backend, as a bot runs
        "rss_mb_bench": round(proc_status_mb(), 1),  # this process, both backends loaded
    }
    report["onnx_over_torch"] = round(report["grade_ms_p50_onnx"] / report["grade_ms_p50_torch"], 2)
    report["burst_speedup"] = round(serial_s / burst_s, 2)
    return report


def format_bench(report: dict) -> str:
    return "\n".join(f"{key:18} {value}" for key, value in report.items())
