"""Which names a statement assigns and reads, and which names the code reads before assigning them."""

from __future__ import annotations

import ast


def _stores(node: ast.AST) -> set[str]:
    """Names a statement assigns, including the arrays it assigns into (`a[i] = ...`)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            base = n.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
    return names


def _assigned_in_order(stmts: list[ast.stmt]) -> list[str]:
    """Assigned names, each at the position of its last assignment (branches and loop bodies in order)."""
    order: list[str] = []

    def visit(s: ast.stmt) -> None:
        if isinstance(s, ast.If):
            for b in s.body + s.orelse:
                visit(b)
            return
        if isinstance(s, ast.For):
            for b in s.body:
                visit(b)
        for name in sorted(_stores(s.target if isinstance(s, ast.For) else s)):
            if name in order:
                order.remove(name)
            order.append(name)

    for s in stmts:
        visit(s)
    return order


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _free_names(stmts: list[ast.stmt], helpers: dict[str, ast.FunctionDef]) -> tuple[list[str], set[str]]:
    """Names read before any assignment (in order), and all names the code assigns."""
    helper_globals = {name: _helper_globals(fn, helpers) for name, fn in helpers.items()}
    assigned: set[str] = set()
    free: list[str] = []

    def read(node: ast.AST | None) -> None:
        if node is None:
            return
        names = set(_loads(node))
        for n in ast.walk(node):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in helper_globals:
                names |= helper_globals[n.func.id]
        free.extend(sorted(n for n in names if n not in assigned and n not in free))

    def visit(s: ast.stmt) -> None:
        if isinstance(s, (ast.Assign, ast.AnnAssign)):
            read(s.value)
            for t in s.targets if isinstance(s, ast.Assign) else [s.target]:
                read(t)  # subscript targets read their array and index
                assigned.update(_stores(t))
        elif isinstance(s, ast.AugAssign):
            read(s.value)
            read(ast.Expression(body=_as_load(s.target)))
            assigned.update(_stores(s.target))
        elif isinstance(s, ast.If):
            read(s.test)
            before = set(assigned)
            for b in s.body:
                visit(b)
            after_body = set(assigned)
            assigned.intersection_update(before)
            for b in s.orelse:
                visit(b)
            assigned.update(after_body)
        elif isinstance(s, ast.For):
            read(s.iter)
            assigned.update(_stores(s.target))
            for b in s.body:
                visit(b)
        else:
            read(s)

    for s in stmts:
        visit(s)
    all_assigned = set().union(*(_stores(s) for s in stmts)) if stmts else set()
    return free, all_assigned


def _as_load(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Name):
        return ast.Name(id=node.id, ctx=ast.Load())
    if isinstance(node, ast.Subscript):
        return ast.Subscript(value=_as_load(node.value), slice=node.slice, ctx=ast.Load())
    return node


def _helper_globals(fn: ast.FunctionDef, helpers: dict[str, ast.FunctionDef],
                    seen: frozenset[str] = frozenset()) -> set[str]:
    """Global names a called helper function reads (its parameters and locals excluded)."""
    local = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    local |= set().union(*(_stores(s) for s in fn.body)) if fn.body else set()
    names = set().union(*(_loads(s) for s in fn.body)) - local - {fn.name}
    for name in list(names):
        if name in helpers and name not in seen:
            names |= _helper_globals(helpers[name], helpers, seen | {fn.name})
    return names
