"""Small helpers every demo shares: where plots go, a loud self-check, a numerical gradient.

A demo runs either as a script (``python knowledge/demos/<name>.py --out DIR``, what
``gradcheck demo run`` does) or as a module (``python -m knowledge.demos.<name>``), so each demo
imports this file relatively when it has a package and by its bare name otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def default_out_dir(name: str) -> Path:
    """Plots go under the gradcheck data dir (same rule as bot.settings) unless --out says otherwise."""
    base = os.environ.get("GRADCHECK_DATA_DIR")
    if not base:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        base = str(Path(xdg) / "gradcheck")
    return Path(base) / "demos" / name


def parse_args(name: str, doc: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--out", type=Path, default=None, help="directory for plots (PNG)")
    args = parser.parse_args()
    args.out = args.out or default_out_dir(name)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def save_plot(fig, out_dir: Path, filename: str) -> Path:
    """Save a matplotlib figure as PNG and print its path (the runner collects 'plot:' lines)."""
    path = out_dir / filename
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"plot: {path}")
    return path


def check(condition: bool, message: str) -> None:
    """A self-check that fails loudly: message on stderr and exit code 1."""
    if not condition:
        print(f"SELF-CHECK FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"self-check passed: {message}")


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of a scalar function f at x (x is modified in place and restored)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
        it.iternext()
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / (|a| + |b|), the cs231n gradient-check measure, element by element."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def norm_relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||) over the whole array. Unlike the element-wise measure it is not
    thrown by tiny elements, whose finite-difference estimate is mostly rounding error (about
    1e-16 / eps in absolute terms), so it suits gradients with entries of very different sizes."""
    return float(np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b)))
