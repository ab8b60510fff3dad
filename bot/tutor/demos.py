"""Runs a NumPy demo in a subprocess with a timeout and collects its output and plots."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.domain.errors import UserError, closest
from knowledge.loader import DemoInfo, load_demos


class UnknownDemo(UserError):
    def __init__(self, name: str, known: list[str]):
        suggestions = closest(name, known)
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown demo {name!r}.{hint} See: gradcheck demo list")


@dataclass(frozen=True)
class DemoRun:
    name: str
    ok: bool
    returncode: int
    seconds: float
    output: str
    stderr: str
    plots: list[Path]

    def to_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "returncode": self.returncode,
                "seconds": round(self.seconds, 3), "output": self.output, "stderr": self.stderr,
                "plots": [str(p) for p in self.plots]}


def find_demo(name: str) -> DemoInfo:
    demos, _ = load_demos()
    if name not in demos:
        raise UnknownDemo(name, list(demos))
    return demos[name]


def run_demo(name: str, out_dir: Path, timeout: float = 60.0) -> DemoRun:
    demo = find_demo(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(demo.path), "--out", str(out_dir)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=demo.path.parent,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = -1
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = f"demo {name} did not finish within {timeout:.0f}s"
    seconds = time.perf_counter() - started
    plots = [Path(line.split(":", 1)[1].strip()) for line in out.splitlines() if line.startswith("plot:")]
    ok = code == 0 and all(p.exists() for p in plots)
    return DemoRun(name, ok, code, seconds, out, err, plots)
