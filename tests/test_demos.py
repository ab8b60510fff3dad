"""Every demo runs, passes its own self-check, writes the plots it names, and is reproducible: run
as a script (what `gradcheck demo run` does) and as a module (`python -m knowledge.demos.NAME`),
side by side, it prints exactly the same thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.tutor.demos import run_demo
from knowledge.loader import load_demos

DEMOS = sorted(load_demos()[0])
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_blas_thread(monkeypatch):
    # The demos' matrices are small: one BLAS thread per process is faster on a busy machine, and
    # fixes the summation order, so that two runs can be compared bit for bit.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")


# The demos the issues asked for, each with the question it teaches.
ASKED_FOR = {
    "two_layer_net": "8.3.43.1", "dropout": "8.3.43.2", "activations": "8.3.44.1", "xor": "8.3.64",
    "zero_init": "8.3.65", "dead_relu": "8.3.67.1", "skip_connections": "8.3.45",
    "linear_collapse": "8.3.62", "exploding_gradients": "8.3.46.1", "nonconvex": "8.3.x.nonconvex",
    "l1_vs_l2": "8.3.x.l1-vs-l2", "randomness_sources": "8.3.66.1", "sgd_vs_adam_min_norm": "8.3.60.1",
}


def test_there_is_a_demo_for_each_topic_in_the_issue(kb):
    for name, question_id in ASKED_FOR.items():
        assert name in kb.demos, name
        assert question_id in kb.demos[name].question_ids, (name, question_id)
        assert name in kb.get(question_id).demos, f"{question_id} does not link {name}"


def printed(output: str) -> list[str]:
    """What a demo printed, minus the plot paths (they name the output dir)."""
    return [line for line in output.splitlines() if not line.startswith("plot:")]


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_and_checks_itself(name, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    as_module = subprocess.Popen(  # runs alongside the script run below
        [sys.executable, "-m", f"knowledge.demos.{name}", "--out", str(tmp_path / "module")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = run_demo(name, tmp_path / "script", timeout=60)
        module_out, module_err = as_module.communicate(timeout=120)
    finally:
        as_module.kill()
    assert run.returncode == 0, f"{name} failed:\n{run.output[-2000:]}\n{run.stderr[-2000:]}"
    assert "self-check passed" in run.output
    assert run.plots, f"{name} wrote no plot"
    for plot in run.plots:
        assert plot.exists() and plot.stat().st_size > 5000
    assert as_module.returncode == 0, f"python -m knowledge.demos.{name} failed:\n{module_err}"
    assert printed(module_out) == printed(run.output), f"{name}: the two runs differ"
    module_plots = [Path(line.split(":", 1)[1].strip()) for line in module_out.splitlines()
                    if line.startswith("plot:")]
    assert [p.name for p in module_plots] == [p.name for p in run.plots]
    assert all(p.exists() and p.parent == tmp_path / "module" for p in module_plots)


def test_gradcheck_demo_run(tmp_path):
    """The console script runs a demo and reports its plots."""
    env = dict(os.environ, GRADCHECK_DATA_DIR=str(tmp_path / "data"))
    gradcheck = Path(sys.executable).parent / "gradcheck"
    proc = subprocess.run([str(gradcheck), "demo", "run", "relu_linear", "--out",
                           str(tmp_path / "out"), "--json"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and "self-check passed" in result["output"]
    assert [Path(p).name for p in result["plots"]] == ["relu_linear.png"]
    assert all(Path(p).exists() for p in result["plots"])
