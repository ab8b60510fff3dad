"""Arithmetic, comparison and truth values, on numeric operands only; NumPy's errors become the code's."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from bot.grading.code_check.errors import _RunError, _Unsupported
from bot.grading.code_check.numpy_surface import _broadcast_check, _check_result, _matmul_check

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_INPLACE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul, ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod, ast.Pow: operator.ipow, ast.MatMult: operator.imatmul,
    ast.BitAnd: operator.iand, ast.BitOr: operator.ior, ast.BitXor: operator.ixor,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_NUMERIC = (bool, int, float, np.bool_, np.integer, np.floating)


def _operand(v: Any) -> Any:
    if isinstance(v, _NUMERIC) or (isinstance(v, np.ndarray) and v.dtype.kind in "biuf"):
        return v
    raise _Unsupported(f"arithmetic on {type(v).__name__}")


def _binop(op: type, a: Any, b: Any, inplace: bool = False) -> Any:
    a, b = _operand(a), _operand(b)
    if op is ast.MatMult:
        _matmul_check(a, b)
    else:
        _broadcast_check(a, b)
    if op is ast.Pow and isinstance(b, (int, np.integer)) and abs(int(b)) > 1024 and \
            isinstance(a, (int, np.integer)) and abs(int(a)) > 1:
        raise _Unsupported("huge power")
    fn = _INPLACE[op] if inplace and isinstance(a, np.ndarray) else _BINOPS[op]
    return _check_result(_numpy_errors(fn, a, b))


def _numpy_errors(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run a NumPy operation; its errors are the learner's code failing."""
    try:
        return fn(*args, **kw)
    except (_Unsupported, _RunError):
        raise
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError, FloatingPointError, KeyError) as e:
        raise _RunError(str(e)) from None


def _truth(v: Any) -> bool:
    if isinstance(v, np.ndarray) and v.size != 1:
        raise _RunError("the truth value of an array is ambiguous")
    if v is None or isinstance(v, (*_NUMERIC, np.ndarray)):
        return bool(v)
    raise _Unsupported("truth value")
