"""Making the code one straight sequence: classes and uncalled functions inlined, one iteration of a
training loop, and the checker's own sizes."""

from __future__ import annotations

import ast
from collections.abc import Callable

from bot.grading.code_check.dataflow import _stores
from bot.grading.code_check.errors import _Unsupported
from bot.grading.code_check.limits import SIZES
from bot.grading.code_check.names import _PARAMS, _gradient_names, _looks_upstream, _role


class _SelfToNames(ast.NodeTransformer):
    """`self.W1` -> `W1`: a class's state becomes ordinary variables."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return ast.Name(id=node.attr, ctx=node.ctx)
        return self.generic_visit(node)


def _declass(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Replace each class by its methods as plain functions (without `self`), in order."""
    out: list[ast.stmt] = []
    for s in stmts:
        if not isinstance(s, ast.ClassDef):
            out.append(s)
            continue
        if s.decorator_list or s.keywords:
            raise _Unsupported("decorated class")
        for item in s.body:
            if isinstance(item, ast.FunctionDef):
                args = item.args.posonlyargs + item.args.args
                if item.decorator_list or not args or args[0].arg != "self":
                    raise _Unsupported("method without self")
                item.args.posonlyargs, item.args.args = [], args[1:]
            elif isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                continue  # docstring
            out.append(_SelfToNames().visit(item))
    return out


def _flatten(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Inline uncalled function definitions: their bodies run at top level, in order. Also run one
    iteration of a training loop, and give the code the checker's own sizes (see _with_our_sizes).

    Parameters come from same-named variables (or the inputs); a default is used when there is neither.
    `return a, b` in a forward function binds `ret_<name> = a` (the output); in a backward function of a
    single-input layer (dropout), `return expr` binds `d<input> = expr`."""
    out: list[ast.stmt] = []
    assigned: set[str] = set()
    forward_input: str | None = None
    caches: list[list[str]] = []  # tuples of names forward functions return beside their output
    for s in stmts:
        if isinstance(s, ast.FunctionDef):
            body, backward_like = _inline(s, assigned, forward_input, caches)
            if not backward_like and forward_input is None:
                params = [a.arg for a in s.args.posonlyargs + s.args.args]
                forward_input = params[0] if params and _role(params[0]) == "X" else None
            new = body
        else:
            if any(isinstance(n, ast.FunctionDef) for n in ast.walk(s)):
                raise _Unsupported("nested function")
            new = [s]
        new = [t for n in new for t in (_one_iteration(n) if _is_training_loop(n) else [_with_our_sizes(n, stmts)])]
        for n in new:
            assigned |= _stores(n)
        out += new
    return out


def _with_our_sizes(s: ast.stmt, program: list[ast.stmt]) -> ast.stmt:
    """`N, D, H, C = 64, 784, 100, 10` becomes the checker's own small, distinct sizes.

    Refused when one of the numbers also appears elsewhere as a literal (`dscores /= 64`): the code would
    then no longer agree with itself."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1):
        return s
    target, value = s.targets[0], s.value
    names = target.elts if isinstance(target, ast.Tuple) else [target]
    values = value.elts if isinstance(value, ast.Tuple) else [value]
    if len(names) != len(values) or not all(
            isinstance(n, ast.Name) and _role(n.id) in SIZES and isinstance(v, ast.Constant)
            and isinstance(v.value, int) and not isinstance(v.value, bool) for n, v in zip(names, values, strict=True)):
        return s
    replaced = {v.value for v in values if isinstance(v, ast.Constant)}
    others = {n.value for p in program for n in ast.walk(p) if all(n is not v for v in values)
              and isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}
    if replaced & others:
        raise _Unsupported("sizes also written as numbers")
    sizes: list[ast.expr] = [ast.Constant(SIZES[_role(n.id) or ""]) for n in names if isinstance(n, ast.Name)]
    return ast.Assign(targets=[target], value=ast.Tuple(elts=sizes, ctx=ast.Load()) if len(sizes) > 1 else sizes[0],
                      lineno=0)


def _is_training_loop(s: ast.stmt) -> bool:
    """`for t in range(500): <forward> <backward> <update>`: checking one iteration checks them all."""
    if not (isinstance(s, ast.For) and isinstance(s.target, ast.Name) and isinstance(s.iter, ast.Call)
            and isinstance(s.iter.func, ast.Name) and s.iter.func.id == "range"):
        return False
    stores = set().union(*(_stores(b) for b in s.body))
    return any(_gradient_names(p, stores) for p in _PARAMS)


def _one_iteration(s: ast.stmt) -> list[ast.stmt]:
    assert isinstance(s, ast.For) and isinstance(s.iter, ast.Call)
    start = s.iter.args[0] if len(s.iter.args) > 1 else ast.Constant(0)
    return [ast.Assign(targets=[s.target], value=start, lineno=0), *s.body]


def _inline(fn: ast.FunctionDef, assigned: set[str], forward_input: str | None,
            caches: list[list[str]]) -> tuple[list[ast.stmt], bool]:
    if any(isinstance(n, ast.FunctionDef) for b in fn.body for n in ast.walk(b)):
        raise _Unsupported("nested function")
    if sum(isinstance(n, ast.If) and _has_return(n) for b in fn.body for n in ast.walk(b)) > 4:
        raise _Unsupported("too many early returns")  # each one doubles the inlined code
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True)) + list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    params = [a.arg for a, _ in pairs]
    prologue: list[ast.stmt] = [
        ast.Assign(targets=[ast.Name(id=a.arg, ctx=ast.Store())], value=d, lineno=0)
        for a, d in pairs if d is not None and a.arg not in assigned
    ]
    backward_like = any(k in fn.name.lower() for k in ("back", "bwd", "grad")) or \
        any(_looks_upstream(p) and _role(p) is None for p in params)
    grads_in_body = any(_gradient_names(p, set().union(*(_stores(b) for b in fn.body)))
                        for p in ("W1", "W2", "b1", "b2", "X", "x"))

    def on_return(value: ast.expr | None) -> list[ast.stmt]:
        first = value.elts[0] if isinstance(value, ast.Tuple) and value.elts else value
        if first is None or (isinstance(first, ast.Constant) and first.value is None):
            return []
        if not backward_like:
            target = "ret_" + fn.name
        elif forward_input and not grads_in_body and not (isinstance(first, ast.Name) and _gradient_names(
                forward_input, {first.id})):
            target = "d" + forward_input
        else:
            return []
        return [ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=first, lineno=0)]

    if not backward_like:
        for ret in (n for b in fn.body for n in ast.walk(b) if isinstance(n, ast.Return)):
            for elt in ret.value.elts[1:] if isinstance(ret.value, ast.Tuple) else []:
                if isinstance(elt, ast.Tuple) and all(isinstance(e, ast.Name) for e in elt.elts):
                    caches.append([e.id for e in elt.elts if isinstance(e, ast.Name)])
    body = [s for s in fn.body if not _is_cache_unpack(s, params, assigned, caches)]
    return prologue + _eliminate_returns(body, on_return), backward_like


def _is_cache_unpack(s: ast.stmt, params: list[str], assigned: set[str], caches: list[list[str]]) -> bool:
    """`X, z1, h1 = cache` where `cache` is a parameter nobody defines and the names already exist (in the
    order the forward function returned them, if it returned such a tuple)."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Tuple)
            and isinstance(s.value, ast.Name) and s.value.id in params and s.value.id not in assigned):
        return False
    names = [t.id for t in s.targets[0].elts if isinstance(t, ast.Name)]
    if caches and names not in caches:
        return False
    return len(names) == len(s.targets[0].elts) and all(n in assigned or _role(n) for n in names)


def _eliminate_returns(stmts: list[ast.stmt], on_return: Callable[[ast.expr | None], list[ast.stmt]]) -> list[ast.stmt]:
    """Rewrite `if c: return a` + rest into `if c: <bind a> else: rest`, so a body can run inline."""
    out: list[ast.stmt] = []
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            return out + on_return(s.value)
        if isinstance(s, ast.If) and _has_return(s):
            rest = stmts[i + 1:]
            branch = ast.If(test=s.test, body=_eliminate_returns(s.body + rest, on_return),
                            orelse=_eliminate_returns(s.orelse + rest, on_return))
            return out + [branch]
        if _has_return(s):
            raise _Unsupported("return inside a loop")
        out.append(s)
    return out


def _has_return(s: ast.stmt) -> bool:
    return any(isinstance(n, ast.Return) for n in ast.walk(s))
