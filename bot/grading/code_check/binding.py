"""Values for the code's free names: small random inputs under each plausible shape convention."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.grading.code_check.limits import SEEDS, SIZES
from bot.grading.code_check.names import _SCALARS
from bot.grading.code_check.program import _Program


@dataclass
class _Binding:
    """Values for the code's free names under one shape convention."""

    values: dict[str, Any]
    upstream_seed: int

    def fresh(self) -> dict[str, Any]:
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self.values.items()}


def _bindings(prog: _Program, seed: int, sizes: dict[str, int] = SIZES,
              y_kinds: tuple[str, ...] = ("int", "onehot", "float"),
              conventions: tuple[str, ...] = ("rows", "transposed", "columns")) -> Iterator[_Binding]:
    """Inputs under each plausible convention: weights (D,H), transposed (H,D) or column-major (X of shape
    (D,N)), or a single sample (X of shape (D,)); y as class labels, one-hot rows or real-valued targets."""
    rng = np.random.RandomState(1000 + seed)
    n, d, h, c = sizes["N"], sizes["D"], sizes["H"], sizes["C"]
    base = {"X": rng.randn(n, d), "W1": rng.randn(d, h), "b1": rng.randn(h) * 0.5, "W2": rng.randn(h, c) * 0.5,
            "b2": rng.randn(c) * 0.5}
    labels = rng.randint(0, c, n)
    targets = {"int": labels, "onehot": np.eye(c)[labels], "float": rng.randn(n, c), "flat": rng.randn(n)}
    used = set(prog.roles.values())
    if not used & {"W1", "W2", "b1", "b2"}:
        conventions = conventions[:1]
    for convention, y_kind in itertools.product(conventions, y_kinds if "y" in used else y_kinds[:1]):
        arrays: dict[str, Any] = dict(base)
        y, y_onehot = targets[y_kind], targets["onehot"]
        if convention in ("transposed", "sample-transposed"):
            arrays.update(W1=base["W1"].T, W2=base["W2"].T)
        if convention == "columns":
            arrays.update(X=base["X"].T, W1=base["W1"].T, W2=base["W2"].T, b1=base["b1"][:, None],
                          b2=base["b2"][:, None])
            y, y_onehot = y.T, y_onehot.T
        if convention.startswith("sample"):  # the first sample alone
            arrays.update(X=base["X"][0])
            y, y_onehot = y[0], y_onehot[0]
        arrays.update(y=y, y_onehot=y_onehot)
        scalars = {**_SCALARS, **sizes}
        values = {name: arrays[role] if role in arrays else scalars[role] for name, role in prog.roles.items()}
        yield _Binding(values, 2000 + seed)


def _other_readings(prog: _Program) -> Iterator[_Binding]:
    """Readings under which a "wrong" may be right after all: one output with real-valued targets
    (`np.mean((out - y)**2)` with `dout = 2 * (out - y) / N` is right for a scalar regression), or code
    written for a single sample (`dW1 = np.outer(dh, x)`). They can clear code, never convict it."""
    yield from _bindings(prog, SEEDS[0], {**SIZES, "C": 1}, ("float", "flat"))
    yield from _bindings(prog, SEEDS[0], conventions=("sample", "sample-transposed"))
