"""The restricted interpreter: a whitelist of node types, checked before anything runs, and an
evaluator with step budgets. The learner's text is never given to exec, eval or compile."""

from __future__ import annotations

import ast
import math
import operator
import time
from typing import Any

import numpy as np

from bot.grading.code_check.errors import _RunError, _Unsupported
from bot.grading.code_check.limits import MAX_ELEMS, MAX_LOOP, MAX_NODES, RUN_STEPS
from bot.grading.code_check.numpy_surface import (
    _ARRAY_METHODS,
    _ARRAY_PROPERTIES,
    _BUILTINS,
    _DTYPES,
    _KWARGS,
    _NUMPY,
    _broadcast_check,
    _call_method,
    _check_arg,
    _check_result,
    _count,
    _DType,
    _Fn,
    _Method,
    _Module,
    _random_module,
)
from bot.grading.code_check.operators import _CMPOPS, _binop, _numpy_errors, _operand, _truth


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


_ALLOWED_NODES = (
    ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.For, ast.Return, ast.Pass, ast.FunctionDef,
    ast.arguments, ast.arg, ast.Constant, ast.Name, ast.Load, ast.Store, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple, ast.List,
    ast.Dict,
    ast.Starred, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult, ast.BitAnd,
    ast.BitOr, ast.BitXor, ast.UAdd, ast.USub, ast.Not, ast.Invert, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt,
    ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot,
)


def _check_nodes(stmts: list[ast.stmt]) -> None:
    """Refuse, before running anything, code with syntax outside the whitelist."""
    count = 0
    for s in stmts:
        for node in ast.walk(s):
            count += 1
            if count > MAX_NODES or not isinstance(node, _ALLOWED_NODES):
                raise _Unsupported(type(node).__name__)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                raise _Unsupported("private attribute")
            if isinstance(node, ast.Name) and node.id.startswith("__"):
                raise _Unsupported("dunder name")
            if isinstance(node, ast.Constant) and not (
                    node.value is None or node.value is Ellipsis or isinstance(node.value, (bool, int, float))
                    or (isinstance(node.value, str) and len(node.value) <= 50)):
                raise _Unsupported("constant")
            if isinstance(node, ast.FunctionDef) and (node.decorator_list or node.args.vararg or node.args.kwarg):
                raise _Unsupported("decorated or variadic function")
            if isinstance(node, ast.For) and node.orelse:
                raise _Unsupported("for-else")
            if isinstance(node, ast.Dict) and not all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                                      for k in node.keys):
                raise _Unsupported("dict keys other than strings")


class _Budget:
    """Steps left over all runs of one check, and a wall-clock backstop."""

    def __init__(self, steps: int, seconds: float) -> None:
        self.left = steps
        self.deadline = time.monotonic() + seconds

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0 or (self.left % 512 < n and time.monotonic() > self.deadline):
            raise _Unsupported("budget exhausted")


class _Interp:
    """Runs whitelisted statements over `env`. Every array it makes is numeric and capped in size."""

    def __init__(self, env: dict[str, Any], helpers: dict[str, ast.FunctionDef], seed: int, budget: _Budget,
                 perturb: dict[str, tuple[ast.stmt, np.ndarray]] | None = None) -> None:
        self.env = env
        self.helpers = helpers
        self.budget = budget
        self.steps = 0
        self.perturb = perturb or {}  # weight -> (the statement whose assignment of it gets +delta, delta)
        self.frames: list[dict[str, Any]] = []
        self.top: ast.stmt | None = None  # the top-level statement running
        self.current: ast.stmt | None = None  # the innermost statement running
        rng = np.random.RandomState(seed)
        self.numpy = _Module("numpy", {**_NUMPY, "random": _random_module(rng)})

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > RUN_STEPS:
            raise _Unsupported("run budget exhausted")
        self.budget.spend(n)

    # --- statements
    def run(self, stmts: list[ast.stmt], top: bool = False) -> None:
        for s in stmts:
            if top:
                self.top = s
            self.exec(s)

    def exec(self, s: ast.stmt) -> None:
        self.tick()
        self.current = s
        if isinstance(s, ast.Assign):
            value = self.eval(s.value)
            for t in s.targets:
                self.assign(t, value)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.assign(s.target, self.eval(s.value))
        elif isinstance(s, ast.AugAssign):
            self.aug_assign(s)
        elif isinstance(s, ast.If):
            self.run(s.body if _truth(self.eval(s.test)) else s.orelse)
        elif isinstance(s, ast.For):
            self.loop(s)
        elif isinstance(s, ast.Expr):
            self.eval(s.value)
        elif isinstance(s, ast.Return):
            if not self.frames:
                raise _Unsupported("return outside a function")
            raise _Return(None if s.value is None else self.eval(s.value))
        elif not isinstance(s, ast.Pass):
            raise _Unsupported(type(s).__name__)

    def loop(self, s: ast.For) -> None:
        items = self.eval(s.iter)
        if not isinstance(items, (range, np.ndarray, tuple, list)) or getattr(items, "ndim", 1) == 0:
            raise _Unsupported("loop over this value")
        if len(items) > MAX_LOOP:
            raise _Unsupported("loop too long")
        for item in items:
            self.assign(s.target, item)
            self.run(s.body)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            if target.id in ("np", "numpy"):
                raise _Unsupported("rebinding a builtin")
            if self.frames:
                self.frames[-1][target.id] = value
                return
            site = self.perturb.get(target.id)
            if site is not None and site[0] is self.top:
                value = np.asarray(value, dtype=float) + site[1]
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(value, (tuple, list, np.ndarray)) or (isinstance(value, np.ndarray) and value.ndim == 0):
                raise _RunError("cannot unpack a non-sequence")
            if len(value) != len(target.elts):
                raise _RunError(f"expected {len(target.elts)} values to unpack, got {len(value)}")
            for t, v in zip(target.elts, value, strict=True):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value)
            if isinstance(obj, dict):
                obj[self.dict_key(target.slice)] = value
                return
            if not isinstance(obj, np.ndarray):
                raise _Unsupported("item assignment to a non-array")
            index = self.index(obj, target.slice)
            _numpy_errors(obj.__setitem__, index, _check_arg(value))
        else:
            raise _Unsupported("assignment target")

    def aug_assign(self, s: ast.AugAssign) -> None:
        value = self.eval(s.value)
        if isinstance(s.target, ast.Name):
            current = self.lookup(s.target.id)
            self.assign(s.target, _binop(type(s.op), current, value, inplace=True))
        elif isinstance(s.target, ast.Subscript):
            obj = self.eval(s.target.value)
            if isinstance(obj, dict):
                key = self.dict_key(s.target.slice)
                obj[key] = _binop(type(s.op), _numpy_errors(operator.getitem, obj, key), value, inplace=True)
                return
            if not isinstance(obj, np.ndarray):
                raise _Unsupported("item assignment to a non-array")
            index = self.index(obj, s.target.slice)
            current = _numpy_errors(obj.__getitem__, index)
            _numpy_errors(obj.__setitem__, index, _binop(type(s.op), current, value, inplace=True))
        else:
            raise _Unsupported("assignment target")

    # --- expressions
    def lookup(self, name: str) -> Any:
        if self.frames and name in self.frames[-1]:
            return self.frames[-1][name]
        if name in self.env:
            return self.env[name]
        if name in ("np", "numpy"):
            return self.numpy
        if name in self.helpers:
            return self.helpers[name]
        if name in _BUILTINS:
            return _BUILTINS[name]
        raise _Unsupported(f"undefined name {name}")

    def eval(self, e: ast.expr) -> Any:
        value = self.evaluate(e)
        if isinstance(value, np.ndarray):  # big arrays cost more: a run cannot hoard memory
            self.tick(1 + value.size // 64)
        return value

    def evaluate(self, e: ast.expr) -> Any:
        self.tick()
        if isinstance(e, ast.Constant):
            return e.value
        if isinstance(e, ast.Name):
            return self.lookup(e.id)
        if isinstance(e, ast.BinOp):
            return _binop(type(e.op), self.eval(e.left), self.eval(e.right))
        if isinstance(e, ast.UnaryOp):
            return self.unary(e)
        if isinstance(e, ast.BoolOp):
            result = self.eval(e.values[0])
            for v in e.values[1:]:
                if _truth(result) == isinstance(e.op, ast.Or):
                    break
                result = self.eval(v)
            return result
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.IfExp):
            return self.eval(e.body) if _truth(self.eval(e.test)) else self.eval(e.orelse)
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Attribute):
            return self.attribute(self.eval(e.value), e.attr)
        if isinstance(e, ast.Dict):  # {"W1": dW1, ...}: string keys only
            return {k.value: self.eval(v) for k, v in zip(e.keys, e.values, strict=True) if isinstance(k, ast.Constant)}
        if isinstance(e, ast.Subscript):
            obj = self.eval(e.value)
            if isinstance(obj, dict):
                return _numpy_errors(operator.getitem, obj, self.dict_key(e.slice))
            if isinstance(obj, (tuple, list)):
                key = self.eval(e.slice)
                if not isinstance(key, (int, np.integer, slice)) or isinstance(key, bool):
                    raise _Unsupported("sequence index")
                return _numpy_errors(obj.__getitem__, key)
            if not isinstance(obj, (np.ndarray, np.generic)):
                raise _Unsupported("indexing a non-array")
            return _check_result(_numpy_errors(operator.getitem, obj, self.index(obj, e.slice)))
        if isinstance(e, ast.Slice):
            parts = [None if p is None else self.eval(p) for p in (e.lower, e.upper, e.step)]
            if not all(p is None or (isinstance(p, (int, np.integer)) and not isinstance(p, bool)) for p in parts):
                raise _RunError("slice indices must be integers")
            return slice(*parts)
        if isinstance(e, (ast.Tuple, ast.List)):
            items: list[Any] = []
            for elt in e.elts:
                if isinstance(elt, ast.Starred):
                    items += self.starred(elt)
                else:
                    items.append(self.eval(elt))
            return tuple(items) if isinstance(e, ast.Tuple) else items
        raise _Unsupported(type(e).__name__)

    def starred(self, e: ast.Starred) -> list[Any]:
        v = self.eval(e.value)
        if not isinstance(v, (tuple, list)) or len(v) > 32:
            raise _Unsupported("star-argument")
        return list(v)

    def unary(self, e: ast.UnaryOp) -> Any:
        v = self.eval(e.operand)
        if isinstance(e.op, ast.Not):
            return not _truth(v)
        v = _operand(v)
        if isinstance(e.op, ast.USub):
            return _numpy_errors(operator.neg, v)
        if isinstance(e.op, ast.UAdd):
            return v
        return _numpy_errors(operator.invert, v)

    def compare(self, e: ast.Compare) -> Any:
        left = self.eval(e.left)
        for i, (op, right_node) in enumerate(zip(e.ops, e.comparators, strict=True)):
            right = self.eval(right_node)
            if isinstance(op, (ast.Is, ast.IsNot)):
                if not (left is None or right is None):
                    raise _Unsupported("`is` on values other than None")
                value: Any = (left is right) == isinstance(op, ast.Is)
            elif isinstance(left, str) and isinstance(right, str) and isinstance(op, (ast.Eq, ast.NotEq)):
                value = (left == right) == isinstance(op, ast.Eq)  # mode == "train"
            else:
                _broadcast_check(_operand(left), _operand(right))
                value = _check_result(_numpy_errors(_CMPOPS[type(op)], left, right))
            if i == len(e.ops) - 1 or not _truth(value):
                return value
            left = right
        raise _Unsupported("comparison")

    def attribute(self, obj: Any, attr: str) -> Any:
        if isinstance(obj, _Module):
            if attr not in obj.members:
                raise _Unsupported(f"{obj.name}.{attr}")
            return obj.members[attr]
        if isinstance(obj, (np.ndarray, np.generic)) and not isinstance(obj, (np.str_, np.bytes_, np.void)):
            if attr in _ARRAY_METHODS:
                return _Method(obj, attr)
            if attr in _ARRAY_PROPERTIES:
                if attr == "dtype":
                    return next((d for d in _DTYPES.values() if d.dtype == obj.dtype), None)
                return getattr(obj, attr)
        raise _Unsupported(f"attribute {attr}")

    def dict_key(self, node: ast.expr) -> str:
        key = self.eval(node)
        if not isinstance(key, str):
            raise _Unsupported("dict key")
        return key

    def index(self, obj: Any, node: ast.expr) -> Any:
        """Evaluate and vet an index; refuse fancy indexing whose result could exceed the cap."""
        key = self.eval(node)
        parts = key if isinstance(key, tuple) else (key,)
        vetted: list[Any] = []
        arrays = []
        for p in parts:
            if p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer, np.bool_)):
                vetted.append(p)
                continue
            arr = _numpy_errors(np.asarray, _check_arg(p))
            if arr.dtype.kind not in "biu" and arr.size:
                raise _RunError("arrays used as indices must be of integer (or boolean) type")
            vetted.append(arr)
            if arr.dtype.kind != "b":  # a boolean mask selects at most every element once
                arrays.append(arr.shape)
        if arrays:
            try:
                size = math.prod(np.broadcast_shapes(*arrays))
            except ValueError:
                size = 0
            if size * max(np.size(obj), 1) > 200 * MAX_ELEMS:  # a bound on the result's size
                raise _Unsupported("index too large")
        return tuple(vetted) if isinstance(key, tuple) else vetted[0]

    def call(self, e: ast.Call) -> Any:
        func = self.eval(e.func)
        args: list[Any] = []
        for a in e.args:
            args += self.starred(a) if isinstance(a, ast.Starred) else [self.eval(a)]
        kw: dict[str, Any] = {}
        for k in e.keywords:
            if k.arg is None:
                raise _Unsupported("**kwargs")
            kw[k.arg] = self.eval(k.value)
        self.tick(1 + sum(_count(a) for a in args) // 256)
        if isinstance(func, ast.FunctionDef):
            return self.call_helper(func, args, kw)
        if any(k not in _KWARGS for k in kw):
            raise _Unsupported("keyword argument")
        if isinstance(func, _DType):
            if kw or len(args) != 1:
                raise _Unsupported("cast")
            return _check_result(_numpy_errors(func.cast, _operand(args[0])))
        args = [_check_arg(a) for a in args]
        kw = {k: _check_arg(v) for k, v in kw.items()}
        if isinstance(func, _Method):
            if len(args) > 4:
                raise _Unsupported("too many arguments")
            return _check_result(_numpy_errors(_call_method, func.obj, func.name, args, kw))
        if isinstance(func, _Fn):
            if len(args) > func.max_args and func.name not in ("rand", "randn"):
                raise _Unsupported("too many arguments")
            return _check_result(_numpy_errors(func.impl, *args, **kw))
        raise _Unsupported("call of a non-function")

    def call_helper(self, fn: ast.FunctionDef, args: list[Any], kw: dict[str, Any]) -> Any:
        """Call a function the code defines, in its own scope (reads fall back to the globals)."""
        if len(self.frames) >= 16:
            raise _Unsupported("recursion")
        spec = fn.args
        names = [a.arg for a in spec.posonlyargs + spec.args]
        if len(args) > len(names):
            raise _RunError("too many arguments")
        frame: dict[str, Any] = dict(zip(names, args, strict=False))
        defaults = dict(zip(names[len(names) - len(spec.defaults):], spec.defaults, strict=True))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True) if d is not None})
        for k, v in kw.items():
            if k not in names and k not in {a.arg for a in spec.kwonlyargs}:
                raise _RunError(f"unexpected argument {k}")
            frame[k] = v
        for name in names + [a.arg for a in spec.kwonlyargs]:
            if name not in frame:
                if name not in defaults:
                    raise _RunError(f"missing argument {name}")
                frame[name] = self.eval(defaults[name])
        self.frames.append(frame)
        try:
            self.run(fn.body)
        except _Return as r:
            return r.value
        finally:
            self.frames.pop()
        return None
