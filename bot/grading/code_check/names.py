"""Naming conventions: which free names are inputs (X, W1, N, p, ...), upstream gradients (dout, ...),
losses, and which names hold the gradient of a parameter."""

from __future__ import annotations

import ast
from typing import Any


# ---------------------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return name.lower().replace("_", "")


# Free names the checker can bind, by role. Dimension names are case-sensitive (`d`, `h` are not D, H).
_ROLE_EXACT = {"N": "N", "D": "D", "H": "H", "C": "C", "K": "C", "D_in": "D", "D_out": "C"}
_ROLES = {
    "X": {"x", "inputs", "input", "xbatch", "xtrain"},
    "y": {"y", "labels", "label", "targets", "target", "ytrue", "ybatch", "ytrain"},
    "y_onehot": {"yonehot", "onehot", "yoh", "ytrueonehot", "targetsonehot", "labelsonehot"},
    "W1": {"w1"}, "b1": {"b1"}, "W2": {"w2"}, "b2": {"b2"},
    "N": {"n", "batchsize", "numexamples", "numtrain", "nsamples", "numsamples"},
    "D": {"inputdim", "inputsize", "indim", "nfeatures", "numfeatures", "din", "numinputs"},
    "H": {"hidden", "hiddendim", "hiddensize", "nhidden", "numhidden"},
    "C": {"numclasses", "nclasses", "outdim", "outputdim", "outputsize", "nout", "numoutputs"},
    "prob": {"p", "keep", "keepprob", "pkeep", "prob", "pdrop", "dropprob", "droprate", "dropout",
             "dropoutrate", "rate", "dropoutp", "q", "pdropout", "keepp", "probkeep", "probdrop"},
    "flag": {"train", "training", "istraining", "trainmode"},
    "lr": {"lr", "learningrate", "alpha", "eta", "stepsize"},
    "reg": {"reg", "lam", "lambd", "lmbda", "weightdecay", "l2", "regstrength"},
    "eps": {"eps", "epsilon"},
}
_SCALARS: dict[str, Any] = {"prob": 0.6, "flag": True, "lr": 0.1, "reg": 0.1, "eps": 1e-8}
_PARAMS = ("W1", "b1", "W2", "b2", "X")
_LOSS_NAMES = ("loss", "totalloss", "losstotal", "fullloss", "cost", "totalcost", "j", "l")
_NOT_UPSTREAM = {"data", "diff", "dim", "dims", "dist", "dtype", "depth", "dt", "decay", "drop", "dropped"}
_UPSTREAM_COMMON = {"dout", "doutput", "dscores", "dlogits", "dy", "dyhat", "dypred", "dz", "dz2", "dprobs",
                    "dupstream", "upstream", "gradout", "gradoutput", "dldout", "dldy", "dldscores", "dtop"}


def _role(name: str) -> str | None:
    if name in _ROLE_EXACT:
        return _ROLE_EXACT[name]
    n = _norm(name)
    return next((role for role, names in _ROLES.items() if n in names), None)


def _looks_upstream(name: str) -> bool:
    """A free name such as dout, dscores, grad_out, dL_dy: a gradient the code takes as given."""
    n = _norm(name)
    return n not in _NOT_UPSTREAM and (n.startswith(("d", "grad", "delta", "upstream")) or n.endswith("grad"))


def _assigns_gradient(name: str, known: set[str]) -> bool:
    """Whether assigning `name` starts a backward pass, given the (normalised) names known so far."""
    n = _norm(name)
    if _role(name):
        return False  # N, D = X.shape
    if n in _UPSTREAM_COMMON or n in ("d", "grads", "gradients") or n.startswith(("grad", "delta")) \
            or n.endswith("grad"):
        return True
    for prefix in ("dld", "dlossd", "d", "g"):
        rest = n[len(prefix):]
        if n.startswith(prefix) and rest in known and (prefix != "g" or _role(rest) in _PARAMS):
            return True
    return False


def _gradient_names(param: str, names: set[str]) -> list[str]:
    """Names that hold the gradient of `param` (d<param>, grad_<param>, <param>_grad, dL_d<param>, g<param>)."""
    p = _norm(param)
    wanted = ["d" + p, "grad" + p, p + "grad", "dld" + p, "dlossd" + p, "g" + p]
    return [name for w in wanted for name in sorted(names) if _norm(name) == w]


def _gradient_entries(stmts: list[ast.stmt]) -> dict[str, str]:
    """Gradients stored in a dict, as `grads['W1'] = ...`: role -> "grads['W1']"."""
    entries: dict[str, str] = {}
    for n in (n for s in stmts for n in ast.walk(s)):
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name) \
                and _norm(n.value.id) in ("grads", "grad", "gradients", "g", "dparams") \
                and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str):
            role = _role(n.slice.value)
            if role in _PARAMS:
                entries.setdefault(role, f"{n.value.id}[{n.slice.value!r}]")
    return entries


def _lookup_gradient(env: dict[str, Any], name: str) -> Any:
    base, _, key = name.partition("[")
    value = env.get(base)
    return value.get(key[1:-2]) if key and isinstance(value, dict) else value


_BUILTIN_NAMES = {"np", "numpy", "len", "range", "float", "int", "bool", "abs", "max", "min", "round", "sum",
                  "relu", "exp", "log", "sqrt", "tanh", "maximum", "minimum", "True", "False", "None"}
