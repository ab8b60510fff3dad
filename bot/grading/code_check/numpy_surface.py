"""The NumPy the learner's code may use: whitelisted functions, dtypes, np.random, array methods and
builtins, each vetting its arguments and capping the size of what it creates."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.grading.code_check.errors import _RunError, _Unsupported
from bot.grading.code_check.limits import MAX_ELEMS


@dataclass(frozen=True)
class _Fn:
    """A whitelisted function (NumPy's or a builtin) the code may call."""

    name: str
    impl: Callable[..., Any]
    max_args: int = 4


@dataclass(frozen=True)
class _DType:
    """float, int, bool, np.float64, ...: usable as a dtype and callable as a cast."""

    name: str
    dtype: np.dtype

    def cast(self, v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.size != 1:
            if self.name in ("float", "int", "bool"):
                raise _RunError("only size-1 arrays can be converted to Python scalars")
            return v.astype(self.dtype)
        value = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        if not isinstance(value, (bool, int, float)):
            raise _Unsupported("cast")
        if self.name in ("float", "int", "bool"):
            return {"float": float, "int": int, "bool": bool}[self.name](value)
        return self.dtype.type(value)


@dataclass(frozen=True)
class _Module:
    name: str
    members: dict[str, Any]


@dataclass(frozen=True)
class _Method:
    obj: Any
    name: str


_DTYPES = {name: _DType(name, np.dtype(dt)) for name, dt in [
    ("float", np.float64), ("int", np.int64), ("bool", np.bool_), ("float64", np.float64),
    ("int64", np.int64), ("int32", np.int32), ("bool_", np.bool_),
    ("uint8", np.uint8), ("double", np.float64)]}
_KWARGS = {"axis", "keepdims", "dtype", "size", "loc", "scale", "low", "high", "a_min", "a_max", "ddof", "axes",
           "k", "m", "num", "endpoint", "copy", "min", "max"}


def _count(v: Any) -> int:
    if isinstance(v, np.ndarray):
        return v.size
    if isinstance(v, (list, tuple)):
        return sum(_count(e) for e in v) + 1
    return 1


def _check_arg(v: Any) -> Any:
    """Only numbers, numeric arrays, shapes and dtypes reach NumPy."""
    if v is None or v is Ellipsis or isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating, slice)):
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 64:
            raise _Unsupported("huge integer")
        return v
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            raise _Unsupported("array dtype")
        return v
    if isinstance(v, _DType):
        return v.dtype
    if isinstance(v, range):
        if len(v) > MAX_ELEMS:
            raise _Unsupported("range too long")
        return np.arange(v.start, v.stop, v.step)
    if isinstance(v, (list, tuple)):
        if _count(v) > MAX_ELEMS:
            raise _Unsupported("sequence too long")
        items = [_check_arg(e) for e in v]
        return items if isinstance(v, list) else tuple(items)
    if isinstance(v, str) and v in _DTYPES:
        return _DTYPES[v].dtype
    raise _Unsupported(f"argument of type {type(v).__name__}")


def _check_result(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        if v.size > MAX_ELEMS or v.dtype.kind not in "biuf":
            raise _Unsupported("array too large or not numeric")
    elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 256:
        raise _Unsupported("huge integer")
    elif isinstance(v, tuple):
        for e in v:
            _check_result(e)
    return v


def _size_of(shape: Any) -> int:
    """Elements an array of `shape` would have; refuses anything over the cap before it is allocated."""
    if shape is None:
        return 1
    dims = shape if isinstance(shape, (tuple, list)) else (shape,)
    size = 1
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise _Unsupported("shape")
        size *= max(int(d), 0)
        if size > MAX_ELEMS:
            raise _Unsupported("array too large")
    return size


def _shape(v: Any) -> tuple[int, ...]:
    return v.shape if isinstance(v, (np.ndarray, np.generic)) else np.shape(v) if isinstance(v, (list, tuple)) else ()


def _broadcast_check(*vals: Any) -> None:
    try:
        shape = np.broadcast_shapes(*(_shape(v) for v in vals))
    except ValueError:
        return  # NumPy raises its own shape error when the operation runs
    _size_of(shape)


def _matmul_check(a: Any, b: Any) -> None:
    sa, sb = _shape(a), _shape(b)
    if len(sa) > 2 or len(sb) > 2:
        raise _Unsupported("matmul of arrays with more than two axes")
    _size_of((sa[0] if len(sa) == 2 else 1) * (sb[-1] if len(sb) == 2 else 1))


def _ew(f: Callable[..., Any]) -> Callable[..., Any]:
    """An elementwise function: the broadcast result must fit the cap."""
    def call(*args: Any, **kw: Any) -> Any:
        _broadcast_check(*args)
        return f(*args, **kw)
    return call


def _dot(a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        _broadcast_check(a, b)
    else:
        _matmul_check(a, b)
    return np.dot(a, b)


def _matmul(a: Any, b: Any) -> Any:
    _matmul_check(a, b)
    return np.matmul(a, b)


def _creator(f: Callable[..., Any]) -> Callable[..., Any]:
    def call(shape: Any, *args: Any, **kw: Any) -> Any:
        _size_of(shape)
        return f(shape, *args, **kw)
    return call


def _eye(n: Any, m: Any = None, k: int = 0, dtype: Any = float) -> Any:
    _size_of((n, n if m is None else m))
    return np.eye(n, m, k, dtype=dtype)


def _arange(*args: Any, dtype: Any = None) -> Any:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, (int, float, np.integer, np.floating)) for a in args):
        raise _Unsupported("arange")
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) == 3 else 1)
    if step == 0 or not all(math.isfinite(float(a)) for a in (start, stop, step)):
        raise _RunError("bad arange")
    if math.ceil((stop - start) / step) > MAX_ELEMS:
        raise _Unsupported("array too large")
    return np.arange(start, stop, step, dtype=dtype)


def _linspace(start: Any, stop: Any, num: int = 50, **kw: Any) -> Any:
    _size_of(num)
    return np.linspace(start, stop, num, **kw)


def _array(obj: Any, dtype: Any = None, copy: bool = True) -> Any:
    return np.array(obj, dtype=dtype)


def _like(f: Callable[..., Any]) -> Callable[..., Any]:
    def call(a: Any, *args: Any, **kw: Any) -> Any:
        return f(np.asarray(a), *args, **kw)
    return call


def _relu(a: Any) -> Any:
    return np.maximum(0, a)


def _builtin_max_min(pick: Callable[..., Any]) -> Callable[..., Any]:
    """Python's max/min, on scalars only (max(0, h) on an array is not what the learner meant)."""
    def call(*args: Any) -> Any:
        vals = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        if not vals or any(np.ndim(v) != 0 for v in vals):
            raise _Unsupported("max/min of arrays")
        return pick(vals)
    return call


def _builtin_sum(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            raise _RunError("iteration over a 0-d array")
        return np.sum(v, axis=0)
    if isinstance(v, (list, tuple)):
        return sum(v)
    raise _Unsupported("sum")


def _len(v: Any) -> int:
    if isinstance(v, np.ndarray) and v.ndim == 0:
        raise _RunError("len() of unsized object")
    if isinstance(v, (np.ndarray, tuple, list, range)):
        return len(v)
    raise _Unsupported("len")


def _range(*args: Any) -> range:
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        raise _RunError("range() needs integers")
    r = range(*(int(a) for a in args))
    if len(r) > MAX_ELEMS:
        raise _Unsupported("range too long")
    return r


def _to_int(v: Any) -> int:
    return int(_DTYPES["int"].cast(v))


_ELEMENTWISE = ["exp", "log", "sqrt", "tanh", "abs", "absolute", "sign", "square", "log1p", "expm1", "negative",
                "sin", "cos", "floor", "ceil", "isnan", "isfinite", "logical_not", "reciprocal"]
_BROADCAST = ["maximum", "minimum", "add", "subtract", "multiply", "divide", "true_divide", "power", "greater",
              "greater_equal", "less", "less_equal", "equal", "not_equal", "logical_and", "logical_or",
              "heaviside", "where", "clip", "fmax", "fmin", "isclose", "allclose", "array_equal"]
_REDUCE = ["sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "any", "all",
           "count_nonzero", "transpose", "squeeze", "ravel", "copy", "expand_dims", "atleast_2d", "reshape",
           "zeros_like", "ones_like"]


def _numpy_members() -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name in _ELEMENTWISE:
        members[name] = _Fn(name, getattr(np, name), 1)
    for name in _BROADCAST:
        members[name] = _Fn(name, _ew(getattr(np, name)), 3)
    for name in _REDUCE:
        members[name] = _Fn(name, getattr(np, name), 2)
    members.update({
        "dot": _Fn("dot", _dot, 2), "matmul": _Fn("matmul", _matmul, 2),
        "outer": _Fn("outer", lambda a, b: (_size_of(np.size(a) * np.size(b)), np.outer(a, b))[1], 2),
        "zeros": _Fn("zeros", _creator(np.zeros), 2), "ones": _Fn("ones", _creator(np.ones), 2),
        "empty": _Fn("empty", _creator(np.zeros), 2), "full": _Fn("full", _creator(np.full), 3),
        "empty_like": _Fn("empty_like", _like(np.zeros_like), 2), "full_like": _Fn("full_like", _like(np.full_like), 3),
        "eye": _Fn("eye", _eye, 3), "identity": _Fn("identity", _eye, 1), "arange": _Fn("arange", _arange, 3),
        "linspace": _Fn("linspace", _linspace, 3), "array": _Fn("array", _array, 2),
        "asarray": _Fn("asarray", _array, 2),
        "pi": math.pi, "e": math.e, "inf": math.inf, "newaxis": None,
    })
    members.update({name: dt for name, dt in _DTYPES.items() if name not in ("float", "int", "bool")})
    members["linalg"] = _Module("linalg", {"norm": _Fn("norm", np.linalg.norm, 2)})
    return members


_NUMPY = _numpy_members()
_BUILTINS: dict[str, Any] = {
    "len": _Fn("len", _len, 1), "range": _Fn("range", _range, 3), "abs": _Fn("abs", np.abs, 1),
    "max": _Fn("max", _builtin_max_min(max), 8), "min": _Fn("min", _builtin_max_min(min), 8),
    "round": _Fn("round", lambda v, n=0: np.round(v, n) if np.ndim(v) else round(float(v), int(n)), 2),
    "sum": _Fn("sum", _builtin_sum, 1), "relu": _Fn("relu", _relu, 1),
    "float": _DTYPES["float"], "int": _DTYPES["int"], "bool": _DTYPES["bool"],
    **{name: _NUMPY[name] for name in ("exp", "log", "sqrt", "tanh", "maximum", "minimum")},
}


def _random_module(rng: np.random.RandomState) -> _Module:
    """np.random on the run's own generator, reseeded identically for every run."""
    def sized(f: Callable[..., Any], n_params: int) -> Callable[..., Any]:
        """f(params..., size): `size` may also come positionally after the parameters."""
        def call(*args: Any, size: Any = None) -> Any:
            if len(args) > n_params:
                args, size = args[:n_params], args[n_params]
            _size_of(size)
            return f(*args, size=size)
        return call

    def dims(f: Callable[..., Any]) -> Callable[..., Any]:
        def call(*shape: Any) -> Any:
            _size_of(shape)
            return f(*shape)
        return call

    def seed(s: Any = 0) -> None:
        rng.seed(_to_int(s) % 2**32)

    return _Module("random", {
        "rand": _Fn("rand", dims(rng.rand), 4), "randn": _Fn("randn", dims(rng.randn), 4),
        "random": _Fn("random", sized(rng.random_sample, 0), 1),
        "random_sample": _Fn("random_sample", sized(rng.random_sample, 0), 1),
        "standard_normal": _Fn("standard_normal", sized(rng.standard_normal, 0), 1),
        "uniform": _Fn("uniform", sized(_ew(rng.uniform), 2), 3), "normal": _Fn("normal", sized(_ew(rng.normal), 2), 3),
        "randint": _Fn("randint", sized(rng.randint, 2), 3),
        "binomial": _Fn("binomial", sized(_ew(rng.binomial), 2), 3),
        "seed": _Fn("seed", seed, 1),
    })


_ARRAY_PROPERTIES = {"T", "shape", "ndim", "size", "dtype"}
_ARRAY_METHODS = {"sum", "mean", "max", "min", "argmax", "argmin", "std", "var", "prod", "any", "all", "dot", "copy",
                  "reshape", "astype", "clip", "transpose", "flatten", "ravel", "squeeze", "item", "fill"}


def _call_method(obj: Any, name: str, args: list[Any], kw: dict[str, Any]) -> Any:
    if name == "dot":
        return _dot(obj, *args)
    if name == "reshape":
        return np.reshape(obj, args[0] if len(args) == 1 else tuple(args))
    if name == "transpose":
        return np.transpose(obj, (args[0] if len(args) == 1 else tuple(args)) or None)
    if name == "astype":
        return np.asarray(obj).astype(args[0] if args else kw["dtype"])
    if name == "clip":  # x.clip(0), x.clip(min=0), x.clip(0, None)
        low = args[0] if args else kw.get("a_min", kw.get("min"))
        high = args[1] if len(args) > 1 else kw.get("a_max", kw.get("max"))
        return _ew(np.clip)(obj, low, high)
    if name == "flatten":
        return np.asarray(obj).flatten()
    if name == "copy":
        return np.copy(obj)
    if name == "item":
        return np.asarray(obj).item(*args)
    if name == "fill":
        if not isinstance(obj, np.ndarray):
            raise _Unsupported("fill")
        obj.fill(*args)
        return None
    if len(args) > 1:
        raise _Unsupported("positional arguments")
    return getattr(np, name)(obj, *args, **kw)
