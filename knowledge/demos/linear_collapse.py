"""Two consecutive linear layers collapse into one (and can only lose rank).

Answers 8.3.62. W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2): the stack is one affine map, so it
adds parameters and compute but no expressive power, and a narrow middle layer caps the rank of
W2 W1 at the bottleneck width. Trained on XOR-like data, a linear-linear net does no better than
1-layer least squares; putting a ReLU between the layers fixes it.

Usage: python knowledge/demos/linear_collapse.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Two stacked linear layers = one linear layer; a ReLU in between fixes it"
QUESTION_IDS = ["8.3.62"]

rng = np.random.default_rng(0)


def xor_data(n=200):
    X = rng.uniform(-1, 1, size=(n, 2))  # (n, 2)
    y = np.sign(X[:, 0] * X[:, 1])  # (n,) +1 in quadrants 1 and 3, -1 in 2 and 4
    return X, y


def train_two_layer(X, y, hidden, relu, steps=4000, lr=0.05, seed=1):
    """Full-batch GD on MSE for x -> W2 act(W1 x + b1) + b2 (act = ReLU or identity)."""
    r = np.random.default_rng(seed)
    n = len(X)
    W1, b1 = r.normal(size=(2, hidden)) * 0.5, np.zeros(hidden)  # (2, H), (H,)
    W2, b2 = r.normal(size=hidden) * 0.5, 0.0  # (H,), scalar

    def forward(Xq):
        z = Xq @ W1 + b1  # (n, H)
        a = np.maximum(z, 0) if relu else z  # (n, H)
        return z, a, a @ W2 + b2  # (n,)

    for _ in range(steps):
        z, a, out = forward(X)
        d_out = (out - y) / n  # (n,) d(MSE/2)/d(out)
        d_a = np.outer(d_out, W2)  # (n, H)
        d_z = d_a * (z > 0) if relu else d_a
        W2 -= lr * a.T @ d_out
        b2 -= lr * d_out.sum()
        W1 -= lr * X.T @ d_z
        b1 -= lr * d_z.sum(axis=0)
    return lambda Xq: forward(Xq)[2]


def least_squares(X, y):
    A = np.c_[X, np.ones(len(X))]  # (n, 3) with a bias column
    coef = np.linalg.lstsq(A, y)[0]
    return lambda Xq: np.c_[Xq, np.ones(len(Xq))] @ coef


def main():
    args = parse_args("linear_collapse", __doc__)
    D, H, K = 6, 2, 5  # input, bottleneck, output widths
    W1, b1 = rng.normal(size=(H, D)), rng.normal(size=H)  # (H, D), (H,)
    W2, b2 = rng.normal(size=(K, H)), rng.normal(size=K)  # (K, H), (K,)
    x = rng.normal(size=(100, D))  # (100, D)
    two = (x @ W1.T + b1) @ W2.T + b2  # (100, K)
    one = x @ (W2 @ W1).T + (W2 @ b1 + b2)  # (100, K)
    rank = np.linalg.matrix_rank(W2 @ W1)
    print(f"W2(W1 x + b1) + b2 vs (W2 W1) x + (W2 b1 + b2): max |diff| {np.abs(two - one).max():.1e}")
    wide = 64
    print(f"widths {D} -> {H} -> {K}: W2 W1 is {K}x{D} but has rank {rank} (<= min width {H})")
    print(f"a wide stack {D} -> {wide} -> {K} has {D * wide + wide + wide * K + K} parameters for"
          f" the same kind of map one {D} -> {K} layer gives with {K * D + K}")

    X, y = xor_data()
    models = {"least squares (1 layer)": least_squares(X, y),
              "linear-linear (hidden 8)": train_two_layer(X, y, 8, relu=False),
              "linear-ReLU-linear (hidden 8)": train_two_layer(X, y, 8, relu=True)}
    mse, acc = {}, {}
    for name, f in models.items():
        pred = f(X)
        mse[name], acc[name] = float(np.mean((pred - y) ** 2)), float(np.mean(np.sign(pred) == y))
        print(f"  XOR, {name:30s}: MSE {mse[name]:.4f}, accuracy {acc[name]:.2f}")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
    g = np.linspace(-1, 1, 150)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]  # (150*150, 2)
    for ax, (name, f) in zip(axes, models.items(), strict=True):
        ax.contourf(gx, gy, f(grid).reshape(gx.shape), levels=np.linspace(-1.5, 1.5, 13),
                    cmap="coolwarm", extend="both")
        ax.contour(gx, gy, f(grid).reshape(gx.shape), levels=[0], colors="k")
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=14)
        ax.set(xlabel="x1", ylabel="x2", title=f"{name}\nMSE {mse[name]:.3f}, acc {acc[name]:.2f}")
    fig.suptitle(TITLE + " (XOR: colour = prediction, black line = decision boundary)")
    fig.tight_layout()
    save_plot(fig, args.out, "linear_collapse.png")

    ls, lin, rel = (mse[k] for k in models)
    check(np.allclose(two, one), "two linear layers == one affine layer on random data")
    check(rank <= H, f"rank(W2 W1) = {rank} <= bottleneck width {H}")
    check(abs(lin - ls) < 1e-3 * max(ls, 1e-12) + 1e-6,
          "trained linear-linear net's MSE equals 1-layer least squares (within 0.1%)")
    check(lin >= ls - 1e-9, "linear-linear can never beat least squares")
    check(rel < 0.3 * ls and acc["linear-ReLU-linear (hidden 8)"] > 0.9,
          "with a ReLU in between: MSE < 0.3x least squares and accuracy > 90%")


if __name__ == "__main__":
    main()
