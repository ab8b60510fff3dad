"""Dead ReLU units: cause them, detect them, prevent them.

Answers 8.3.67.1 (what is a dead neuron), 8.3.67.2 (how to detect) and 8.3.67.3 (how to prevent).
A ReLU unit is dead when its pre-activation is <= 0 for every input: its output is always 0, its
gradient is always 0, so it never recovers. We cause this with a too-large learning rate or a
strongly negative bias init, detect it as "fraction of hidden units that are zero on every
training example", and prevent it with a smaller learning rate + He init with small positive bias,
or soften it with leaky ReLU (inactive units still get gradient).

Usage: python knowledge/demos/dead_relu.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import check, parse_args, save_plot  # noqa: E402

TITLE = "Dead ReLU units: cause, detect, prevent"
QUESTION_IDS = ["8.3.67.1", "8.3.67.2", "8.3.67.3"]
D, H = 10, 100


def init(rng, bias):
    """He init for the hidden layer (std sqrt(2/D)), constant hidden bias."""
    return {"W": rng.normal(0, np.sqrt(2 / D), (D, H)), "b": np.full(H, float(bias)),
            "v": rng.normal(0, np.sqrt(1 / H), H), "c": 0.0}


def grads(p, X, y, alpha):
    z = X @ p["W"] + p["b"]  # (N, H)
    h = np.where(z > 0, z, alpha * z)  # (N, H), alpha = 0 is plain ReLU
    e = (h @ p["v"] + p["c"] - y) / len(y)  # (N,) d(MSE/2)/d out
    dz = np.outer(e, p["v"]) * np.where(z > 0, 1.0, alpha)  # (N, H)
    return {"W": X.T @ dz, "b": dz.sum(0), "v": h.T @ e, "c": e.sum()}, np.mean((e * len(y)) ** 2)


def train(p, X, y, lr, alpha, steps=200):
    for _ in range(steps):
        g, _ = grads(p, X, y, alpha)
        for k in p:
            p[k] = p[k] - lr * g[k]
    return p


def inactive_fraction(p, X):
    """Detection: units whose pre-activation is <= 0 on EVERY example (ReLU output always 0)."""
    return float(np.mean(np.all(X @ p["W"] + p["b"] <= 0, axis=0)))


def main():
    args = parse_args("dead_relu", __doc__)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, D))  # (N, D)
    y = np.sin(X @ rng.normal(size=D) / 2) + 0.5 * X[:, 0] ** 2  # (N,) non-linear target
    p0 = {"lr 0.2": init(rng, 0.0), "bias -5": init(rng, -5.0), "good": init(rng, 0.01)}
    # lr 0.2 is just below divergence: the first few steps overshoot and push most units'
    # pre-activations below 0 everywhere (94% dead after 5 steps); they never come back.
    settings = [  # (label, initial params, learning rate, leaky slope)
        ("ReLU, lr 0.2", p0["lr 0.2"], 0.2, 0.0),
        ("ReLU, bias init -5", p0["bias -5"], 0.05, 0.0),
        ("Leaky, lr 0.2", p0["lr 0.2"], 0.2, 0.01),
        ("Leaky, bias init -5", p0["bias -5"], 0.05, 0.01),
        ("ReLU, He + bias 0.01,\nlr 0.05", p0["good"], 0.05, 0.0),
    ]
    rows = []
    for label, p_init, lr, alpha in settings:
        before = inactive_fraction(p_init, X)
        p = train({k: np.copy(v) for k, v in p_init.items()}, X, y, lr, alpha)
        g, mse = grads(p, X, y, alpha)
        inact = np.all(X @ p["W"] + p["b"] <= 0, axis=0)  # (H,) bool
        g_inact = float(np.linalg.norm(g["W"][:, inact]))  # 0.0 if there are none
        g_txt = f"{g_inact:.1e}" if inact.any() else "n/a"
        dead = inact.mean() if alpha == 0 else 0.0  # leaky units are never gradient-dead
        rows.append((label, before, inact.mean(), dead, g_inact, mse))
        print(f"{label.replace(chr(10), ' '):<30} inactive at init {before:4.0%} -> after training "
              f"{inact.mean():4.0%}, dead (zero grad) {dead:4.0%}, |grad W| of inactive units "
              f"{g_txt}, train MSE {mse:.3f}")

    fig, ax = plt.subplots(figsize=(9, 4.3))
    xs = np.arange(len(rows))
    ax.bar(xs - 0.2, [r[2] * 100 for r in rows], 0.4, color="tab:gray",
           label="inactive: pre-activation <= 0 on every example")
    ax.bar(xs + 0.2, [r[3] * 100 for r in rows], 0.4, color="tab:red",
           label="dead: zero gradient on every example")
    for x, r in zip(xs, rows, strict=True):
        ax.text(x + 0.2, r[3] * 100 + 1.5, f"{r[3]:.0%}", ha="center", fontsize=9)
    ax.set_xticks(xs, [r[0] for r in rows], fontsize=8)
    ax.set(ylabel="% of 100 hidden units", ylim=(0, 110),
           title="Dead units after 200 GD steps: large LR / negative bias kill ReLUs")
    ax.legend(loc="upper right", fontsize=8)
    save_plot(fig, args.out, "dead_relu.png")

    relu_lr, relu_bias, leaky_lr, leaky_bias, good = rows
    check(relu_lr[3] > 0.4 and relu_bias[3] > 0.4, "bad settings (lr 0.2, bias -5) kill > 40%")
    check(relu_lr[4] == 0 and relu_bias[4] == 0, "dead ReLU units get exactly zero gradient")
    check(leaky_lr[4] > 0 and leaky_bias[4] > 0, "leaky ReLU's inactive units still get gradient")
    check(good[3] < 0.05, "He init + small positive bias + small LR: < 5% dead")
    check(good[5] < relu_lr[5] and good[5] < relu_bias[5], "healthy net fits better (lower MSE)")


if __name__ == "__main__":
    main()
