"""Every demo runs, passes its own self-check and writes the plots it names."""

from __future__ import annotations

import pytest

from bot.demos import run_demo
from knowledge.loader import load_demos

DEMOS = sorted(load_demos()[0])


def test_there_is_a_demo_for_each_topic_in_the_issue():
    assert len(DEMOS) >= 22


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_and_checks_itself(name, tmp_path):
    run = run_demo(name, tmp_path, timeout=60)
    assert run.returncode == 0, f"{name} failed:\n{run.output[-2000:]}\n{run.stderr[-2000:]}"
    assert "self-check passed" in run.output
    assert run.plots, f"{name} wrote no plot"
    for plot in run.plots:
        assert plot.exists() and plot.stat().st_size > 5000
