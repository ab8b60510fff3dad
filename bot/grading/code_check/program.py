"""Understanding the code: its inputs, forward and backward parts, loss and gradients (`_prepare`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from bot.grading.code_check.dataflow import _assigned_in_order, _free_names, _loads, _stores
from bot.grading.code_check.errors import _Unsupported
from bot.grading.code_check.extract import _extract
from bot.grading.code_check.flatten import _declass, _flatten
from bot.grading.code_check.interpreter import _check_nodes
from bot.grading.code_check.names import (
    _BUILTIN_NAMES,
    _LOSS_NAMES,
    _PARAMS,
    _assigns_gradient,
    _gradient_entries,
    _gradient_names,
    _looks_upstream,
    _norm,
    _role,
)


@dataclass
class _Program:
    forward: list[ast.stmt]
    backward: list[ast.stmt]
    helpers: dict[str, ast.FunctionDef]
    roles: dict[str, str]  # free name -> role
    upstream: str | None  # the free upstream gradient, if the code takes one
    loss: str | None  # the loss variable, when there is no upstream gradient
    forward_names: list[str]  # names assigned in the forward part, in order of their last assignment
    last_target: str | None  # the name the forward part assigns last
    params: dict[str, list[str]]  # role -> the code's names for it
    assigned_params: dict[str, ast.stmt]  # param name assigned by the forward part -> that statement
    grads: dict[str, str]  # role -> gradient variable
    two_layer: bool
    complete: bool  # False when code after unparsed text was cut off: then "wrong" only, never "verified"


def _prepare(answer: str) -> _Program:
    """Everything the numerical check needs to know about the code, or _Unsupported."""
    stmts, complete = _extract(answer)
    stmts = _declass(stmts)
    if not stmts:
        raise _Unsupported("no code")
    _check_nodes(stmts)
    called = {n.func.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    helpers = {s.name: s for s in stmts if isinstance(s, ast.FunctionDef) and s.name in called}
    flat = _flatten([s for s in stmts if not (isinstance(s, ast.FunctionDef) and s.name in helpers)])
    roles, upstream = _classify_free_names(flat, helpers)

    split = _split_index(flat, set(roles), {upstream} if upstream else set())
    if not upstream and split < len(flat) and any(_norm(n) in _LOSS_NAMES for n in _stores(flat[split])):
        split += 1  # `loss, dscores = softmax_loss(scores, y)`: the forward part must compute the loss
    forward, backward = flat[:split], flat[split:]
    if not forward or not backward:
        raise _Unsupported("no forward or no backward part")
    forward_names = _assigned_in_order(forward)

    loss = None if upstream else _loss_name(forward_names)
    if not upstream and loss is None:
        raise _Unsupported("no loss and no upstream gradient")
    params, assigned_params = _parameters(roles, forward, forward_names)
    grads = _gradients(params, backward)
    two_layer = "W1" in params or "W2" in params
    if not any(r in grads for r in (("W1", "W2") if two_layer else ("X",))):
        raise _Unsupported("no gradients found")
    last = _assigned_in_order(forward[-1:])
    return _Program(forward, backward, helpers, roles, upstream, loss, forward_names, last[-1] if last else None,
                    params, assigned_params, grads, two_layer, complete)


def _classify_free_names(flat: list[ast.stmt],
                         helpers: dict[str, ast.FunctionDef]) -> tuple[dict[str, str], str | None]:
    """Each name read before it is assigned: an input we can bind (name -> role), or the upstream gradient."""
    free, assigned = _free_names(flat, helpers)
    roles: dict[str, str] = {}
    upstream: list[str] = []
    for name in free:
        role = _role(name)
        if name in _BUILTIN_NAMES or name in helpers:
            continue
        if role:
            roles[name] = role
        elif _looks_upstream(name) and name not in assigned:
            upstream.append(name)
        else:
            raise _Unsupported(f"unknown name {name}")
    if len(upstream) > 1:
        raise _Unsupported("several upstream gradients")
    arrays = [role for role in roles.values() if role in ("X", "y", "y_onehot", *_PARAMS)]
    if len(arrays) != len(set(arrays)):
        raise _Unsupported("two names for one input")  # y and Y: labels and their one-hot, perhaps
    return roles, upstream[0] if upstream else None


def _parameters(roles: dict[str, str], forward: list[ast.stmt],
                forward_names: list[str]) -> tuple[dict[str, list[str]], dict[str, ast.stmt]]:
    """role -> the code's names for it; and, for weights the code creates itself, where it assigns them."""
    params: dict[str, list[str]] = {}
    for name, role in roles.items():
        if role in _PARAMS:
            params.setdefault(role, []).append(name)
    assigned: dict[str, ast.stmt] = {}
    for name in forward_names:
        weight = _role(name)
        if weight in ("W1", "b1", "W2", "b2"):
            if weight in params:
                raise _Unsupported(f"{name} is both an input and assigned")
            params[weight] = [name]
            assigned[name] = _perturbation_site(forward, name)
    return params, assigned


def _gradients(params: dict[str, list[str]], backward: list[ast.stmt]) -> dict[str, str]:
    """role -> the variable (or dict entry) the backward part stores its gradient in."""
    names = set(_assigned_in_order(backward))
    entries = _gradient_entries(backward)
    grads: dict[str, str] = {}
    for role, aliases in params.items():
        found = [g for name in [role, *aliases] for g in _gradient_names(name, names)]
        if found or role in entries:
            grads[role] = found[0] if found else entries[role]
    return grads


def _split_index(stmts: list[ast.stmt], inputs: set[str], upstream: set[str]) -> int:
    """The first statement of the backward part: it assigns a gradient-looking name or reads an upstream gradient."""
    known = {_norm(n) for n in inputs}
    for i, s in enumerate(stmts):
        if _loads(s) & upstream or any(_assigns_gradient(n, known) for n in _stores(s)):
            return i
        known |= {_norm(n) for n in _stores(s)}
    return len(stmts)


def _loss_name(forward_names: list[str]) -> str | None:
    losses = [n for n in forward_names if _norm(n) in _LOSS_NAMES]
    if losses:
        later = forward_names[forward_names.index(losses[-1]) + 1:]
        if any("loss" in _norm(n) for n in later):
            raise _Unsupported("ambiguous loss")
        return losses[-1]
    data = [n for n in forward_names if _norm(n) == "dataloss"]
    if data and not any("reg" in _norm(n) for n in forward_names):
        return data[-1]
    return None


def _perturbation_site(forward: list[ast.stmt], name: str) -> ast.stmt:
    """The top-level statement whose assignment of a parameter the numerical check perturbs."""
    sites = [s for s in forward if name in _stores(s)]
    site = sites[-1]
    ok = (isinstance(site, ast.Assign) and all(
        isinstance(t, ast.Name) or (isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts))
        for t in site.targets)) or (isinstance(site, ast.AugAssign) and isinstance(site.target, ast.Name))
    if not ok:
        raise _Unsupported(f"{name} is assigned in a way the checker cannot perturb")
    return site
