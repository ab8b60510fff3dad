"""Skip connections keep gradients alive: per-layer gradient norms, plain vs residual, 40 layers.

Answers 8.3.45. In a plain net h_{l+1} = sigmoid(W_l h_l) the backward pass multiplies by
W_l^T diag(sigmoid') at every layer, and sigmoid' <= 0.25, so the gradient reaching the first
layers shrinks geometrically. With a residual connection h_{l+1} = h_l + sigmoid(W_l h_l) the
layer Jacobian is I + W_l^T diag(sigmoid'): the identity path carries the gradient back unchanged,
so early layers still learn. Same weights, same data, only the skip differs.

Usage: python knowledge/demos/skip_connections.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "Skip connections: gradient norm per layer in a 40-layer sigmoid MLP, plain vs residual"
QUESTION_IDS = ["8.3.45"]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(Ws, X, residual):
    hs, zs = [X], []
    for W in Ws:
        z = hs[-1] @ W  # (N, d)
        zs.append(z)
        hs.append(hs[-1] + sigmoid(z) if residual else sigmoid(z))  # (N, d)
    return hs, zs


def loss_fn(Ws, X, Y, residual):
    return 0.5 * np.sum((forward(Ws, X, residual)[0][-1] - Y) ** 2) / len(X)


def weight_grads(Ws, X, Y, residual):
    """Backprop: returns dL/dW_l for every layer, first layer first."""
    hs, zs = forward(Ws, X, residual)
    dh = (hs[-1] - Y) / len(X)  # (N, d)
    grads = [None] * len(Ws)
    for layer in reversed(range(len(Ws))):
        s = sigmoid(zs[layer])  # (N, d)
        dz = dh * s * (1 - s)  # (N, d)
        grads[layer] = hs[layer].T @ dz  # (d, d)
        dh = dz @ Ws[layer].T + (dh if residual else 0.0)  # identity path adds dh unchanged
    return grads


def main():
    args = parse_args("skip_connections", __doc__)
    rng = np.random.default_rng(0)
    depth, d, n = 40, 32, 16
    Ws = [rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(depth)]  # Xavier-like init
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))  # (N, d) each

    # the backprop code is right: gradient check on a small 3-layer net, both variants
    Ws3 = [rng.normal(size=(6, 6)) / np.sqrt(6) for _ in range(3)]  # (6, 6) each
    X3, Y3 = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))  # (4, 6) each
    gc_err = 0.0
    for residual in (False, True):
        analytic = weight_grads(Ws3, X3, Y3, residual)
        for W, g in zip(Ws3, analytic, strict=True):
            num = numerical_gradient(lambda r=residual: loss_fn(Ws3, X3, Y3, r), W, eps=1e-4)
            gc_err = max(gc_err, relative_error(g, num))
    print(f"gradient check of the backprop code (3 layers, plain + residual): rel err {gc_err:.1e}")

    norms = {}
    for residual, name in ((False, "plain"), (True, "residual")):
        norms[name] = np.array([np.linalg.norm(g) for g in weight_grads(Ws, X, Y, residual)])
        first, last = norms[name][0], norms[name][-1]
        print(f"{name:8s}: ||dL/dW|| first layer {first:.2e}, last layer {last:.2e}, "
              f"first/last = {first / last:.1e}")
    ratio = norms["residual"][0] / norms["plain"][0]
    print(f"first-layer gradient, residual / plain = {ratio:.1e}")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    layers = np.arange(1, depth + 1)
    ax.semilogy(layers, norms["plain"], "o-", ms=3, label="plain: h = sigmoid(W h)")
    ax.semilogy(layers, norms["residual"], "s-", ms=3, label="residual: h = h + sigmoid(W h)")
    ax.set(xlabel="layer (1 = nearest the input)", ylabel="||dL/dW_layer|| (log scale)",
           title=f"{depth}-layer sigmoid MLP: gradient norm per layer")
    ax.legend()
    save_plot(fig, args.out, "skip_connections.png")

    check(gc_err < 1e-6, "backprop matches finite differences for plain and residual nets")
    check(norms["plain"][0] / norms["plain"][-1] < 1e-10, "plain net: first-layer grad vanishes")
    check(norms["residual"][0] / norms["residual"][-1] > 1e-2,
          "residual net: first-layer gradient within 100x of the last layer's")
    check(ratio > 1e6, "residual first-layer gradient norm is > 1e6 x the plain one's")


if __name__ == "__main__":
    main()
