"""bot/grading/code_check/: running a learner's NumPy backprop code in the restricted interpreter.

Fast (no model): each check runs the code a few hundred times on arrays of a few dozen elements.
"""

from __future__ import annotations

import time

import pytest

from bot.grading.code_check import CodeCheck, check_backprop_code
from tests.numpy_answers import TWO_LAYER_SOFTMAX

SOFTMAX = TWO_LAYER_SOFTMAX  # a correct two-layer net: softmax cross-entropy, mean loss


def fenced(code: str) -> str:
    return "Here is my forward and backward pass for the two-layer net:\n```python\n" + code + "```\nThanks!"


def mutate(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new)


def test_correct_softmax_code_is_verified():
    result = check_backprop_code(fenced(SOFTMAX))
    assert result == CodeCheck(
        "verified",
        "dW1, db1, dW2 and db2 match the gradient of your loss (checked numerically on small random inputs).",
        ("dW1", "db1", "dW2", "db2"),
    )


def test_correct_code_without_fences_is_verified():
    assert check_backprop_code(SOFTMAX).status == "verified"


@pytest.mark.parametrize(
    "mutations",
    [
        [("dW2 = a.T @ dscores", "dW2 = dscores @ a.T")],
        [("dW1 = X.T @ dh", "dW1 = dh @ X.T")],
        [("dh = da * (h > 0)", "dh = da * a")],  # runs fine shape-wise: caught numerically
        [("dW2 = a.T @ dscores", "dW2 = dscores @ a.T"), ("dW1 = X.T @ dh", "dW1 = dh @ X.T"),
         ("dh = da * (h > 0)", "dh = da * a")],
        [("dscores /= N\n", "")],  # the loss is a mean but the gradient forgets 1/N
    ],
    ids=["dW2-transposed", "dW1-transposed", "relu-times-activation", "all-three", "missing-1/N"],
)
def test_mutated_softmax_code_is_wrong(mutations):
    code = SOFTMAX
    for old, new in mutations:
        code = mutate(code, old, new)
    assert check_backprop_code(fenced(code)).status == "wrong"


def test_details_name_the_problem():
    shape = check_backprop_code(fenced(mutate(SOFTMAX, "dW2 = a.T @ dscores", "dW2 = dscores @ a.T")))
    assert shape.detail == ("`dW2 = dscores @ a.T` fails because the array shapes do not match "
                            "(run on small random inputs).")
    relu = check_backprop_code(fenced(mutate(SOFTMAX, "dh = da * (h > 0)", "dh = da * a")))
    assert relu.detail.startswith("dW1 and db1 do not match the gradient of your loss")
    assert relu.checked == ("dW1", "db1", "dW2", "db2")


MSE = """\
h = X @ W1 + b1
a = np.maximum(0, h)
out = a @ W2 + b2
loss = 0.5 * np.sum((out - y) ** 2) / N
dout = (out - y) / N
dW2 = a.T @ dout
db2 = dout.sum(axis=0)
da = dout @ W2.T
dh = da * (h > 0)
dW1 = X.T @ dh
db1 = dh.sum(axis=0)
"""

FUNCTIONS = """\
import numpy as np

def forward(X, W1, b1, W2, b2):
    h = X @ W1 + b1
    a = np.maximum(0, h)
    scores = a @ W2 + b2
    return scores, (h, a)

def backward(dscores, cache, X, W2):
    h, a = cache
    dW2 = a.T @ dscores
    db2 = dscores.sum(axis=0)
    da = dscores @ W2.T
    dh = da * (h > 0)
    dW1 = X.T @ dh
    db1 = dh.sum(axis=0)
    return dW1, db1, dW2, db2
"""

UPSTREAM = """\
h = X @ W1 + b1
a = np.maximum(0, h)
out = a @ W2 + b2
# dout = dL/dout is given
dW2 = a.T @ dout
db2 = dout.sum(0)
da = dout @ W2.T
dh = da * (h > 0)
dW1 = X.T @ dh
db1 = dh.sum(0)
"""

TRANSPOSED = """\
h = X @ W1.T + b1
a = np.maximum(0, h)
out = a @ W2.T + b2
loss = ((out - y) ** 2).mean()
dout = 2 * (out - y) / out.size
dW2 = dout.T @ a
db2 = dout.sum(0)
dh = (dout @ W2) * (h > 0)
dW1 = dh.T @ X
db1 = dh.sum(0)
"""

RELU_MASK = """\
h = X.dot(W1) + b1
relu_mask = h > 0
a = h * relu_mask
scores = a.dot(W2) + b2
e = np.exp(scores - scores.max(axis=1, keepdims=True))
probs = e / e.sum(axis=1, keepdims=True)
N = X.shape[0]
loss = -np.sum(np.log(probs[range(N), y])) / N
dscores = probs
dscores[range(N), y] -= 1
dscores /= N
grad_W2 = a.T.dot(dscores)
grad_b2 = np.sum(dscores, axis=0, keepdims=True)
da = dscores.dot(W2.T)
da[~relu_mask] = 0
grad_W1 = X.T.dot(da)
grad_b1 = np.sum(da, axis=0, keepdims=True)
"""

GRADS_DICT = """\
N, D = X.shape
h1 = np.maximum(0, X.dot(W1) + b1)
scores = h1.dot(W2) + b2
shifted = scores - np.max(scores, axis=1, keepdims=True)
probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
loss = np.sum(-np.log(probs[np.arange(N), y])) / N + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
grads = {}
dscores = probs.copy()
dscores[np.arange(N), y] -= 1
dscores /= N
grads['W2'] = h1.T.dot(dscores) + 2 * reg * W2
grads['b2'] = np.sum(dscores, axis=0)
dhidden = dscores.dot(W2.T)
dhidden[h1 <= 0] = 0
grads['W1'] = X.T.dot(dhidden) + 2 * reg * W1
grads['b1'] = np.sum(dhidden, axis=0)
"""

COLUMNS = """\
Z1 = W1 @ X + b1
A1 = np.maximum(Z1, 0)
Z2 = W2 @ A1 + b2
loss = 0.5 * np.sum((Z2 - Y) ** 2) / N
dZ2 = (Z2 - Y) / N
dW2 = dZ2 @ A1.T
db2 = dZ2.sum(axis=1, keepdims=True)
dZ1 = (W2.T @ dZ2) * (Z1 > 0)
dW1 = dZ1 @ X.T
db1 = dZ1.sum(axis=1, keepdims=True)
"""

DROPOUT = """\
def dropout_forward(x, p, train=True):
    if not train:
        return x, None
    mask = (np.random.rand(*x.shape) < p) / p   # inverted dropout, p = keep probability
    return x * mask, mask

def dropout_backward(dout, mask):
    return dout * mask
"""

CLASS = """\
class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=0.1):
        self.W1 = std * np.random.randn(input_size, hidden_size)
        self.b1 = np.zeros(hidden_size)
        self.W2 = std * np.random.randn(hidden_size, output_size)
        self.b2 = np.zeros(output_size)

    def forward(self, X):
        self.X = X
        self.h = X @ self.W1 + self.b1
        self.a = np.maximum(0, self.h)
        return self.a @ self.W2 + self.b2

    def backward(self, dout):
        self.dW2 = self.a.T @ dout
        self.db2 = dout.sum(axis=0)
        dh = (dout @ self.W2.T) * (self.h > 0)
        self.dW1 = self.X.T @ dh
        self.db1 = dh.sum(axis=0)
"""

# The numpy example of "Learning PyTorch with Examples": its own sizes and a training loop.
TRAINING_LOOP = """\
N, D_in, H, D_out = 64, 1000, 100, 10
x = np.random.randn(N, D_in)
y = np.random.randn(N, D_out)
w1 = np.random.randn(D_in, H)
w2 = np.random.randn(H, D_out)
learning_rate = 1e-6
for t in range(500):
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    print(t, loss)
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
"""

VARIANTS = {
    # name: (correct code, a mutation (old, new) that makes it wrong)
    "mse": (MSE, ("dh = da * (h > 0)", "dh = da")),
    "functions": (FUNCTIONS, ("dW2 = a.T @ dscores", "dW2 = dscores.T @ a")),
    "upstream-dout": (UPSTREAM, ("dh = da * (h > 0)", "dh = da * a")),
    "transposed-weights": (TRANSPOSED, ("dW1 = dh.T @ X", "dW1 = X.T @ dh")),
    "relu-mask-variable": (RELU_MASK, ("da[~relu_mask] = 0", "da[relu_mask] = 0")),
    "grads-dict-with-reg": (GRADS_DICT, ("+ 2 * reg * W1", "+ reg * W1")),
    "column-major": (COLUMNS, ("dZ1 = (W2.T @ dZ2) * (Z1 > 0)", "dZ1 = W2.T @ dZ2")),
    "dropout": (DROPOUT, ("return dout * mask", "return dout")),
    "class": (CLASS, ("(self.h > 0)", "self.a")),
    "training-loop": (TRAINING_LOOP, ("grad_h[h < 0] = 0\n", "")),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_is_verified(name):
    code, _ = VARIANTS[name]
    result = check_backprop_code(fenced(code))
    assert result.status == "verified", result
    assert result.checked


@pytest.mark.parametrize("name", list(VARIANTS))
def test_mutated_variant_is_wrong(name):
    code, (old, new) = VARIANTS[name]
    result = check_backprop_code(fenced(mutate(code, old, new)))
    assert result.status == "wrong", result
    assert result.detail


def test_dropout_mask_resampled_in_backward_is_wrong():
    resampled = ("def dropout_backward(dout, p):\n    mask = (np.random.rand(*dout.shape) < p) / p\n"
                 "    return dout * mask")
    code = mutate(DROPOUT, "def dropout_backward(dout, mask):\n    return dout * mask", resampled)
    assert check_backprop_code(fenced(code)).status == "wrong"


def test_gradient_right_for_a_single_output_is_not_called_wrong():
    # A mean over all N*C outputs with a 1/N gradient is right when C = 1 (a scalar regression).
    code = mutate(MSE, "loss = 0.5 * np.sum((out - y) ** 2) / N", "loss = 0.5 * np.mean((out - y) ** 2)")
    assert check_backprop_code(fenced(code)).status == "unknown"
    assert check_backprop_code(fenced(mutate(code, "dh = da * (h > 0)", "dh = da * a"))).status == "wrong"


def test_single_sample_code_is_not_called_wrong():
    code = """\
h = W1 @ x + b1
a = np.maximum(0, h)
out = W2 @ a + b2
loss = 0.5 * np.sum((out - y) ** 2)
dout = out - y
dW2 = np.outer(dout, a)
db2 = dout
da = W2.T @ dout
dh = da * (h > 0)
dW1 = np.outer(dh, x)
db1 = dh
"""
    assert check_backprop_code(fenced(code)).status == "unknown"
    assert check_backprop_code(fenced(mutate(code, "dh = da * (h > 0)", "dh = da * a"))).status == "wrong"


def test_sizes_that_also_appear_as_numbers_are_unknown():
    code = mutate(TRAINING_LOOP, "loss = np.square(y_pred - y).sum()", "loss = np.square(y_pred - y).sum() / 64")
    assert check_backprop_code(fenced(code)).status == "unknown"


def test_code_in_prose_sentences():
    prose = ("Forward: h = X @ W1 + b1, a = np.maximum(0, h), out = a @ W2 + b2, "
             "loss = 0.5 * np.sum((out - y)**2) / N.\n"
             "Backward: dout = (out - y) / N, dW2 = a.T @ dout, db2 = dout.sum(0), "
             "dh = (dout @ W2.T) * (h > 0), dW1 = X.T @ dh, db1 = dh.sum(0).")
    assert check_backprop_code(prose).status == "verified"
    # A step described only in words is not in the code we run: never call that wrong.
    words = mutate(prose, "dh = (dout @ W2.T) * (h > 0)",
                   "dh = dout @ W2.T, then zero dh wherever h was negative")
    assert check_backprop_code(words).status == "unknown"


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "Forward multiplies by W1, applies a ReLU and multiplies by W2; backward applies the chain rule.",
        "forward: h = relu(X W1 + b1)\nbackward: dW1 = X^T (dh ⊙ 1[h>0]), dW2 = a^T dout",
        "```python\nclass Net:\n    def forward(self, X):\n        self.h = X @ self.W1\n```",
        "```python\nh = np.maximum(0, X @ W1)\nout = (h @ W2).astype(np.float32)\n"
        "loss = out.sum()\ndW2 = h.T @ np.ones_like(out)\ndW1 = X.T @ (np.ones_like(out) @ W2.T * (h > 0))\n```",
        # forward part only: nothing to check
        "```python\nh = np.maximum(0, X @ W1 + b1)\nout = h @ W2 + b2\n```",
        # gradients but neither a loss nor an upstream gradient
        "```python\nh = np.maximum(0, X @ W1 + b1)\nout = h @ W2 + b2\nd = out - y\n"
        "dW2 = h.T @ d\ndW1 = X.T @ (d @ W2.T * (h > 0))\n```",
    ],
    ids=["empty", "prose", "pseudo-code", "class-without-backward", "float32", "forward-only", "no-loss"],
)
def test_unknown_when_nothing_can_be_checked(answer):
    assert check_backprop_code(answer) == CodeCheck("unknown", "", ())


UNSAFE = [
    "import os; os.system('touch {marker}')",
    "__import__('os').system('touch {marker}')",
    "leak = ().__class__.__bases__[0].__subclasses__()",
    "f = open('{marker}', 'w')",
    "while True:\n    pass",
    "big = np.zeros((10**9,))",
    "for i in range(10**9):\n    pass",
    "for i in range(1000):\n    for j in range(1000):\n        k = i * j",
    "huge = 2 ** 10 ** 10",
    "s = 'a' * 10**9",
    "eye = np.eye(10**5)",
    "m = np.random.rand(10**5, 10**5)",
    "picked = np.ones(10**4)[np.zeros(10**4, int)]",
    "def f(v):\n    return f(v)\nq = f(1)",
    "o = np.zeros(3, dtype='object')",
    "x.tofile('{marker}')",
    "k = np.load('{marker}')",
    "g = getattr(np, 'load')",
    "r = np.random.default_rng(0)",
]


@pytest.mark.parametrize("snippet", UNSAFE)
@pytest.mark.parametrize("where", ["alone", "in-forward", "in-backward"])
def test_unsafe_code_is_unknown_quickly_and_never_runs(snippet, where, tmp_path):
    marker = tmp_path / "marker"
    snippet = snippet.format(marker=marker)
    if where == "alone":
        code = snippet
    elif where == "in-forward":
        code = mutate(SOFTMAX, "a = np.maximum(0, h)\n", "a = np.maximum(0, h)\n" + snippet + "\n")
    else:
        code = SOFTMAX + snippet + "\n"
    start = time.perf_counter()
    result = check_backprop_code(fenced(code))
    assert time.perf_counter() - start < 2.0
    assert result.status == "unknown"
    assert not marker.exists()


# Real learners' answers (from the labelled dev set), with the verdicts checked by reading them.
REAL_ANSWERS = [
    pytest.param(
        "Here my implementation, I use softmax cross entropy for the output:\n```python\n# forward\n"
        "z1 = X.dot(W1) + b1        # (N,H)\nh1 = np.maximum(0, z1)     # relu\nz2 = h1.dot(W2) + b2       # (N,C)\n"
        "z2 -= z2.max(axis=1, keepdims=True)  # numerical stabilty\n"
        "p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)\nloss = -np.log(p[np.arange(N), y]).mean()\n\n"
        "# backward\ndz2 = p.copy()\ndz2[np.arange(N), y] -= 1\ndz2 /= N\ndW2 = h1.T.dot(dz2)\ndb2 = dz2.sum(axis=0)\n"
        "dh1 = dz2.dot(W2.T)\ndz1 = dh1 * (z1 > 0)       # relu gradient, zero where z1<=0\ndW1 = X.T.dot(dz1)\n"
        "db1 = dz1.sum(axis=0)\n```\nImportent is the mask (z1>0) in backward, without it gradient is wrong. "
        "I always check with numerical gradient.",
        "verified", id="correct-softmax",
    ),
    pytest.param(
        "```python\nimport numpy as np\n\ndef forward(X, W1, b1, W2, b2):\n    z1 = X @ W1 + b1           # (N, H)\n"
        "    a1 = np.maximum(0, z1)     # ReLU\n    out = a1 @ W2 + b2         # (N, C)\n"
        "    return out, (X, z1, a1, W2)\n\n"
        "def backward(dout, cache):\n    X, z1, a1, W2 = cache\n    dW2 = a1.T @ dout\n    db2 = dout.sum(axis=0)\n"
        "    da1 = dout @ W2.T\n    dz1 = da1 * (z1 > 0)       # ReLU gate\n    dW1 = X.T @ dz1\n"
        "    db1 = dz1.sum(axis=0)\n"
        "    return dW1, db1, dW2, db2\n```\ndout comes from the loss, e.g. MSE: 2*(out - y)/N, "
        "softmax-CE: (softmax(out) - onehot(y))/N.",
        "verified", id="correct-functions-with-cache",
    ),
    pytest.param(
        "def fwd(x, p=0.5, training=True):\n    if not training: return x, None\n"
        "    m = (np.random.rand(*x.shape) < p) / p   # keep w.p. p, rescale\n    return x * m, m\n\n"
        "def bwd(dout, m):\n    return dout * m   # same mask as forward",
        "verified", id="correct-dropout",
    ),
    pytest.param(
        "```\n# fwd\nh = X @ W1 + b1\na = np.maximum(0, h)\nout = a @ W2 + b2\nloss = ((out - y)**2).mean()\n# bwd\n"
        "dout = 2*(out - y) / y.size\ndW2 = a.T @ dout; db2 = dout.sum(0)\nda = dout @ W2.T\n"
        "dh = da * a          # relu grad = its own output\ndW1 = X.T @ dh; db1 = dh.sum(0)\n```\n"
        "nice thing about relu is the derivative is just the activation itself so u multiply by a, no extra cache "
        "needed. rest is plain chain rule",
        "wrong", id="incorrect-relu-times-activation",
    ),
    pytest.param(
        "forward:\nh = X.dot(W1) + b1\nr = np.maximum(0, h)\nout = r.dot(W2) + b2\nloss = np.mean((out - y)**2)\n\n"
        "backward:\ndout = 2*(out - y)/N\ndW2 = dout.T.dot(r)\ndr = dout.dot(W2.T)\ndh = dr * (h > 0)\n"
        "dW1 = X.T.dot(dh)\n\n"
        "bias gradient i dont write, it is just sum of dout and dh over the batch. derivative of relu is only the "
        "mask where h is bigger than 0.",
        "wrong", id="partial-dW2-transposed",
    ),
    pytest.param(
        "```python\ndef dropout_forward(x, p=0.5):\n    mask = np.random.rand(*x.shape) > p\n"
        "    return x * mask, mask\n\n"
        "def dropout_backward(dout, mask):\n    return dout   # no params, gradient passes straight through\n```\n"
        "Dropout has no learnable weights, so the backward pass is just the identity, you don't need the mask there. "
        "And keep dropping at test time too, otherwise the activations won't match what the network saw in training.",
        "wrong", id="incorrect-dropout-identity-backward",
    ),
    pytest.param(
        "- forward:\n  - h = X @ W1 + b1\n  - a = np.maximum(0, h)\n"
        "  - out = a @ W2 + b2 -> loss (e.g. MSE: ((out - y)**2).mean())\n"
        "- backward:\n  - dout = 2 * (out - y) / N\n  - dW2 = a.T @ dout, db2 = dout.sum(0)\n  - da = dout @ W2.T\n"
        "  - dh = da * (h > 0)   # relu mask\n  - dW1 = X.T @ dh, db1 = dh.sum(0)\n"
        "- cache h (or a) from forward for the mask",
        "unknown", id="correct-but-loss-only-in-words",
    ),
]


@pytest.mark.parametrize(("answer", "status"), REAL_ANSWERS)
def test_real_answers(answer, status):
    assert check_backprop_code(answer).status == status
