"""A ReLU network that is exactly a linear classifier.

Answers 8.3.63: yes, a network whose only non-linearity is ReLU can act as a linear classifier,
because relu(z) - relu(-z) = z. A hidden layer with units (w, b) and (-w, -b) and output weights
(+1, -1) returns w.x + b for every input. A second, simpler case: if every pre-activation is
positive, relu is the identity and the network collapses to a linear map.

Usage: python knowledge/demos/relu_linear.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "A ReLU network reproduces a linear classifier exactly"
QUESTION_IDS = ["8.3.63"]


def relu(z):
    return np.maximum(z, 0.0)


def linear_scores(X, w, b):
    return X @ w + b  # (N,)


def relu_net_scores(X, w, b):
    """Hidden layer W1 = [w, -w], b1 = [b, -b]; output weights v = [+1, -1]."""
    W1 = np.stack([w, -w], axis=1)  # (D, 2)
    b1 = np.array([b, -b])  # (2,)
    v = np.array([1.0, -1.0])  # (2,)
    return relu(X @ W1 + b1) @ v  # (N,)


def main():
    args = parse_args("relu_linear", __doc__)
    rng = np.random.default_rng(0)

    # 1) random data in 5-D, random linear classifier
    X = rng.normal(size=(1000, 5))  # (N, D)
    w, b = rng.normal(size=5), 0.3  # (D,), scalar
    s_lin = linear_scores(X, w, b)  # (N,)
    s_relu = relu_net_scores(X, w, b)  # (N,)
    max_diff = np.max(np.abs(s_lin - s_relu))
    same_labels = np.mean((s_lin > 0) == (s_relu > 0))
    print(f"relu(z) - relu(-z) trick, 1000 points in 5-D: max |score diff| = {max_diff:.2e}, "
          f"labels agree on {same_labels:.0%}")
    # one relu unit clips the scores (not a linear function), but relu(z) > 0 iff z > 0
    s_one = relu(X @ w + b)  # (N,)
    print(f"single relu unit: max |score diff| = {np.max(np.abs(s_lin - s_one)):.2f}, "
          f"yet labels agree on {np.mean((s_one > 0) == (s_lin > 0)):.0%}")

    # 2) all pre-activations positive: relu acts as identity, the net is linear
    Xp = rng.uniform(0, 1, size=(500, 3))  # (N, 3), non-negative inputs
    W1 = rng.uniform(0.1, 1.0, size=(3, 4))  # (3, 4), positive weights
    b1 = np.full(4, 0.5)  # (4,)
    v, c = rng.normal(size=4), -1.0  # (4,), scalar
    net = relu(Xp @ W1 + b1) @ v + c  # (N,)
    w_eff, b_eff = W1 @ v, b1 @ v + c  # (3,), scalar: the collapsed linear map
    pos_diff = np.max(np.abs(net - (Xp @ w_eff + b_eff)))
    print(f"all pre-activations > 0 (min {np.min(Xp @ W1 + b1):.2f}): net equals "
          f"x.{np.round(w_eff, 2)} {b_eff:+.2f}, max diff = {pos_diff:.2e}")

    # 3) plot on 2-D data: both decision boundaries coincide
    X2 = rng.normal(size=(200, 2))  # (N, 2)
    w2, b2 = np.array([1.0, -2.0]), 0.5
    y2 = (linear_scores(X2, w2, b2) + 0.3 * rng.normal(size=200) > 0).astype(int)  # (N,)
    g = np.linspace(-3.5, 3.5, 300)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]  # (G, 2)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    zs = np.linspace(-3, 3, 301)
    ax.plot(zs, relu(zs) - relu(-zs), "k", lw=7, alpha=0.25, label="relu(z) - relu(-z)")
    ax.plot(zs, zs, "k:", lw=1, label="z")
    ax.plot(zs, relu(zs), lw=2, ls="--", label="relu(z)")
    ax.plot(zs, -relu(-zs), lw=2, ls="--", label="-relu(-z)")
    ax.set(xlabel="z = w.x + b", ylabel="value", title="relu(z) - relu(-z) = z: two ReLUs, "
           "one identity")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.scatter(s_lin, s_relu, s=14, c="tab:blue", label="ReLU pair (w, b), (-w, -b), v = (+1, -1)")
    ax.scatter(s_lin, s_one, s=3, c="tab:orange", label="one unit: relu(w.x + b) (clipped)")
    ax.plot([], [], "k--", label="y = x")
    ax.axline((0, 0), slope=1, color="k", ls="--", lw=1)
    ax.set(xlabel="linear classifier's score w.x + b", ylabel="network's score",
           title="5-D, 1000 points: the pair's scores are exactly w.x + b")
    ax.legend(fontsize=8)
    ax = axes[2]
    z_net = relu_net_scores(grid, w2, b2).reshape(gx.shape)
    ax.contourf(gx, gy, z_net > 0, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
    ax.contour(gx, gy, z_net, levels=[0], colors="k", linewidths=4, alpha=0.4)
    ax.contour(gx, gy, linear_scores(grid, w2, b2).reshape(gx.shape), levels=[0], colors="k",
               linewidths=1, linestyles="--")
    ax.scatter(*X2[y2 == 0].T, c="tab:red", s=12, label="class 0")
    ax.scatter(*X2[y2 == 1].T, c="tab:blue", s=12, label="class 1")
    ax.plot([], [], "k-", lw=4, alpha=0.4, label="ReLU net's boundary (colours: its regions)")
    ax.plot([], [], "k--", lw=1, label="linear classifier's boundary")
    ax.set(xlabel="x1", ylabel="x2", title="2-D: the two decision boundaries coincide")
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "relu_linear.png")
    grid_diff = np.max(np.abs(linear_scores(grid, w2, b2) - relu_net_scores(grid, w2, b2)))

    check(np.allclose(s_lin, s_relu, atol=1e-12), "ReLU net scores allclose to w.x + b")
    check(same_labels == 1.0, "ReLU net and linear classifier predict identical labels")
    check(np.max(np.abs(s_lin - s_one)) > 1.0,
          "a single relu unit's scores are clipped (not linear)")
    check(pos_diff < 1e-12, "with all pre-activations positive the net is a linear map")
    check(grid_diff < 1e-12, "decision boundaries coincide on the 2-D grid")


if __name__ == "__main__":
    main()
