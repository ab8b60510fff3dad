"""The numerical check: every gradient the code computes against centred finite differences of its own
loss (or of sum(output * upstream))."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.grading.code_check.binding import _Binding
from bot.grading.code_check.errors import _RunError, _Unsupported
from bot.grading.code_check.interpreter import _Budget, _Interp
from bot.grading.code_check.limits import FD_EPS, REL_TOL, SIZES
from bot.grading.code_check.names import _PARAMS, _lookup_gradient, _norm
from bot.grading.code_check.operators import _NUMERIC, _operand
from bot.grading.code_check.program import _Program
from bot.grading.code_check.verdict import UNKNOWN, CodeCheck


@dataclass
class _Target:
    """What the gradients are gradients of: the loss variable, or sum(output * upstream)."""

    loss: str | None = None
    output: str | None = None
    upstream: np.ndarray | None = None
    confident: bool = True  # sure the output is the one the upstream gradient belongs to

    def value(self, env: dict[str, Any]) -> float:
        if self.loss is not None:
            v = env.get(self.loss)
            if not isinstance(v, (*_NUMERIC, np.ndarray)) or np.size(v) != 1:
                raise _Unsupported("the loss is not a scalar")
            return float(np.asarray(v, dtype=float).reshape(()))
        out = env.get(self.output or "")
        if not isinstance(out, np.ndarray) or self.upstream is None or out.shape != self.upstream.shape:
            raise _Unsupported("output changed shape")
        return float(np.sum(out * self.upstream))


@dataclass
class _Result:
    status: str
    detail: str = ""
    checked: tuple[str, ...] = field(default_factory=tuple)


def _evaluate(prog: _Program, bindings: Iterator[_Binding], seed: int, budget: _Budget) -> CodeCheck:
    """Verified if the code checks out under some convention in which its forward part runs; wrong if
    it fails under every one of them; otherwise unknown."""
    verdicts: list[_Result] = []
    for binding in bindings:
        results = [_check(prog, binding, target, seed, budget) for target in _targets(prog, binding, seed, budget)]
        if results:
            verdicts.append(next((r for r in results if r.status == "verified"), results[0]))
            if verdicts[-1].status == "verified":
                break
    verdict = next((r for r in verdicts if r.status == "verified"), None)
    if verdict is None and verdicts and all(r.status == "wrong" for r in verdicts):
        verdict = verdicts[0]
    return CodeCheck(verdict.status, verdict.detail, verdict.checked) if verdict else UNKNOWN


def _targets(prog: _Program, binding: _Binding, seed: int, budget: _Budget) -> list[_Target]:
    """The objectives to check against; empty when the forward part does not run with this binding."""
    interp = _Interp(binding.fresh(), prog.helpers, seed, budget)
    try:
        interp.run(prog.forward, top=True)
    except (_RunError, _Unsupported):
        return []
    if prog.loss is not None:
        target = _Target(loss=prog.loss)
        try:  # a loss that is not finite here (log of a one-hot zero...) gets the next convention
            return [target] if math.isfinite(target.value(interp.env)) else []
        except _Unsupported:
            return []
    # Upstream gradient: the output it belongs to is the variable it names (dout -> out), else the last
    # array the forward part computed.
    rest = re.sub(r"^(dld|dlossd|grad|delta|d|g)", "", _norm(prog.upstream or ""))
    arrays = [n for n in reversed(prog.forward_names)
              if isinstance(interp.env.get(n), np.ndarray) and interp.env[n].dtype.kind == "f" and interp.env[n].ndim
              and np.all(np.isfinite(interp.env[n]))]
    named = [n for n in arrays if _norm(n) == rest]
    candidates = (named + [n for n in arrays if n not in named])[:3]
    # Only the first candidate can make a "wrong", and only if it is named or computed last; the others
    # can only show that the code is right for a different reading of which output `dout` belongs to.
    confident = bool(candidates) and (bool(named) or candidates[0] == prog.last_target)
    rng = np.random.RandomState(binding.upstream_seed)
    return [_Target(output=name, upstream=np.asarray(rng.randn(*interp.env[name].shape)),
                    confident=confident and i == 0)
            for i, name in enumerate(candidates)]


def _check(prog: _Program, binding: _Binding, target: _Target, seed: int, budget: _Budget) -> _Result:
    interp = _Interp(binding.fresh(), prog.helpers, seed, budget)
    param_values: dict[str, np.ndarray] = {}
    try:
        interp.run(prog.forward, top=True)
        target.value(interp.env)
        for role, names in prog.params.items():
            if role in prog.grads:  # the value the numerical check perturbs
                value = interp.env[names[0]] if names[0] in prog.assigned_params else binding.values[names[0]]
                param_values[role] = np.array(_operand(value), dtype=float)
    except (_RunError, _Unsupported):
        return _Result("unknown")
    if prog.upstream is not None:
        interp.env[prog.upstream] = target.upstream.copy() if target.upstream is not None else None
    try:
        interp.run(prog.backward, top=True)
    except _RunError as e:
        if target.confident and re.search(r"shape|broadcast|aligned|mismatch|dimension", str(e)):
            line = ast.unparse(interp.current) if interp.current is not None else "a line"
            line = line if len(line) <= 80 else line[:77] + "..."
            return _Result("wrong", f"`{line}` fails because the array shapes do not match "
                                    "(run on small random inputs).")
        return _Result("unknown")
    except _Unsupported:
        return _Result("unknown")

    checked: list[str] = []
    bad: list[str] = []
    shape_problem = ""
    trivial = True  # every numerical gradient is zero: agreeing with it shows nothing
    for role in _PARAMS:
        if role not in prog.grads or role not in param_values:
            continue
        gname, p0 = prog.grads[role], param_values[role]
        grad = _lookup_gradient(interp.env, gname)
        if grad is None:
            continue
        if not isinstance(grad, (*_NUMERIC, np.ndarray)):
            return _Result("unknown")
        grad = np.asarray(grad, dtype=float)
        if not _same_shape(grad.shape, p0.shape):
            shape_problem = shape_problem or (f"{gname} has shape {_symbolic(grad.shape)} but "
                                              f"{prog.params[role][0]} has shape {_symbolic(p0.shape)}.")
            continue
        numeric = _numerical_gradient(prog, binding, target, seed, budget, role, p0)
        if numeric is None:
            return _Result("unknown")
        trivial = trivial and not np.any(np.abs(numeric) > 1e-6)
        checked.append(gname)
        if not _close(grad.reshape(p0.shape), numeric):
            bad.append(gname)
    if shape_problem and target.confident:
        return _Result("wrong", shape_problem, tuple(checked))
    if bad and target.confident:
        return _Result("wrong", f"{_join(bad)} {'does' if len(bad) == 1 else 'do'} not match the gradient of "
                                f"{_objective(prog)} (checked numerically on small random inputs).", tuple(checked))
    required = ("W1", "W2") if prog.two_layer else ("X",)
    if bad or shape_problem or trivial or not prog.complete or \
            not all(prog.grads.get(r) in checked for r in required):
        return _Result("unknown")
    return _Result("verified", f"{_join(checked)} {'matches' if len(checked) == 1 else 'match'} the gradient of "
                               f"{_objective(prog)} (checked numerically on small random inputs).", tuple(checked))


def _numerical_gradient(prog: _Program, binding: _Binding, target: _Target, seed: int, budget: _Budget,
                        role: str, p0: np.ndarray) -> np.ndarray | None:
    """Centred finite differences of the target, re-running only the forward part for each perturbation."""
    names = prog.params[role]
    grad = np.zeros(p0.shape)
    for index in np.ndindex(*p0.shape):
        values = []
        for sign in (1.0, -1.0):
            delta = np.zeros(p0.shape)
            delta[index] = sign * FD_EPS
            env = binding.fresh()
            perturb = {}
            for name in names:
                if name in prog.assigned_params:
                    perturb[name] = (prog.assigned_params[name], delta)
                else:
                    env[name] = np.asarray(env[name], dtype=float) + delta
            interp = _Interp(env, prog.helpers, seed, budget, perturb)
            try:
                interp.run(prog.forward, top=True)
                values.append(target.value(interp.env))
            except (_RunError, _Unsupported):
                return None
        grad[index] = (values[0] - values[1]) / (2 * FD_EPS)
    return grad if np.all(np.isfinite(grad)) else None


def _same_shape(g: tuple[int, ...], p: tuple[int, ...]) -> bool:
    """Equal shapes, or equal but for a leading or trailing axis of length one (db1 of shape (1, H) for b1
    of shape (H,)); (1, H) against (H, 1) is a transposition, not the same."""
    return g in (p, (1, *p), (*p, 1)) or p in ((1, *g), (*g, 1))


def _close(grad: np.ndarray, numeric: np.ndarray) -> bool:
    """Relative error (max abs difference over the larger max abs value) under REL_TOL."""
    if not grad.size:
        return True
    if not np.all(np.isfinite(grad)):
        return False
    diff = float(np.max(np.abs(grad - numeric)))
    scale = max(1e-8, float(np.max(np.abs(grad))), float(np.max(np.abs(numeric))))
    return diff / scale < REL_TOL or diff < 1e-9


def _symbolic(shape: tuple[int, ...]) -> str:
    letters = {v: k for k, v in SIZES.items()}
    dims = [letters.get(d, str(d)) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _objective(prog: _Program) -> str:
    return "your loss" if prog.loss is not None else f"your forward pass with {prog.upstream} as the upstream gradient"
