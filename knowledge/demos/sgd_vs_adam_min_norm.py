"""SGD finds the minimum-norm solution of over-parameterised least squares; Adam finds another one.

Answers 8.3.60.1 (Adam vs SGD: convergence and generalization). 40 training examples, 45 weights,
so infinitely many weight vectors fit the data exactly. Each example has 5 shared, informative
features (y is a linear function of them) plus its own "ID" feature, 1 for that example and 0 for
every other (like a rare word that occurs in one document): a model can also fit each label by
memorising it on the ID feature, which is useless on new examples. Started from w = 0, SGD only
ever adds multiples of training rows (every gradient is X_batch^T times a residual), so w stays in
the row space of X, and the one interpolating solution there is the minimum-norm one, pinv(X) y.
Since a shared feature's weight serves all 40 examples, the minimum-norm solution puts its weight
there and predicts new examples well. Adam divides each coordinate's step by its own running RMS
gradient, which moves w out of the row space: all coordinates, ID features included, advance at a
similar pace, and it converges to an interpolating solution with a larger norm that leans on the
memorised ID features, so its test error is many times higher. Both fit the training set exactly;
only where they land differs. The construction follows Wilson et al. (2017); it shows a mechanism,
not a law: which solution generalizes better depends on the data.

Usage: python knowledge/demos/sgd_vs_adam_min_norm.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Over-parameterised least squares: SGD lands on the minimum-norm fit, Adam elsewhere"
QUESTION_IDS = ["8.3.60.1"]
N, K, B, STEPS = 40, 5, 5, 4000  # examples, shared features, batch size, steps
D = K + N  # weights: the shared features, then one ID feature per training example

rng = np.random.default_rng(0)
BETA = rng.normal(size=K)  # (K,) the true weights of the shared features
X = np.c_[rng.normal(size=(N, K)), np.eye(N)]  # (N, D)
Y = X[:, :K] @ BETA  # (N,) a function of the shared features only
X_TEST = np.c_[rng.normal(size=(2000, K)), np.zeros((2000, N))]  # new examples: unseen IDs
Y_TEST = X_TEST[:, :K] @ BETA
W_MIN = np.linalg.pinv(X) @ Y  # (D,) the minimum-norm interpolating solution
ROW = np.linalg.pinv(X) @ X  # (D, D) projection onto the row space of X


def mse(w, Xs, ys):
    return float(np.mean((Xs @ w - ys) ** 2))


def train(method, lr, seed=1):
    """Mini-batch SGD or Adam from w = 0; Adam's lr follows a cosine decay to 0 so that it settles.
    Returns the final w and, per step, the training loss and ||w - w_min||."""
    r = np.random.default_rng(seed)
    w, m, v = np.zeros(D), np.zeros(D), np.zeros(D)
    losses, dist = [], []
    for t in range(1, STEPS + 1):
        i = r.choice(N, B, replace=False)
        g = X[i].T @ (X[i] @ w - Y[i]) / B  # (D,) a combination of the batch's rows
        if method == "adam":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            lr_t = lr * 0.5 * (1 + np.cos(np.pi * t / STEPS))
            w = w - lr_t * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        else:
            w = w - lr * g
        losses.append(0.5 * mse(w, X, Y))
        dist.append(np.linalg.norm(w - W_MIN))
    return w, np.array(losses), np.array(dist)


def main():
    args = parse_args("sgd_vs_adam_min_norm", __doc__)
    with np.errstate(over="ignore", invalid="ignore"):
        w_sgd, loss_sgd, dist_sgd = train("sgd", 0.3)
        w_adam, loss_adam, dist_adam = train("adam", 0.02)
    norm_min = np.linalg.norm(W_MIN)
    stats = {}
    for name, w in [("min-norm pinv(X) y", W_MIN), ("SGD", w_sgd), ("Adam", w_adam)]:
        stats[name] = {"train": mse(w, X, Y), "test": mse(w, X_TEST, Y_TEST),
                       "norm": float(np.linalg.norm(w)),
                       "off_row": float(np.linalg.norm(w - ROW @ w)),
                       "id_share": float(np.linalg.norm(w[K:]) / np.linalg.norm(w))}
    print(f"N={N} examples, D={D} weights ({K} shared features + {N} ID features), batch {B}, "
          f"{STEPS} steps from w = 0")
    for name, s in stats.items():
        print(f"  {name:18s}: train MSE {s['train']:.1e}, ||w|| {s['norm']:.3f}, part outside the"
              f" row space {s['off_row']:.1e}, share of ||w|| on ID features {s['id_share']:.2f},"
              f" test MSE {s['test']:.4f}")
    gap_sgd = np.linalg.norm(w_sgd - W_MIN) / norm_min
    gap_adam = np.linalg.norm(w_adam - W_MIN) / norm_min
    print(f"||w - w_min|| / ||w_min||: SGD {gap_sgd:.1e}, Adam {gap_adam:.2f}")

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    steps = np.arange(1, STEPS + 1)
    axes[0].semilogy(steps, loss_sgd, label="SGD (lr 0.3)")
    axes[0].semilogy(steps, loss_adam, label="Adam (lr 0.02, cosine decay)")
    axes[0].set(xlabel="step", ylabel="training loss (MSE / 2)",
                title="Both fit the 40 training examples exactly")
    axes[0].legend()
    axes[1].semilogy(steps, dist_sgd / norm_min, label="SGD")
    axes[1].semilogy(steps, dist_adam / norm_min, label="Adam")
    axes[1].set(xlabel="step", ylabel="||w - w_min|| / ||w_min||",
                title="SGD converges to the minimum-norm solution, Adam does not")
    axes[1].legend()
    ax = axes[2]
    idx = np.arange(D)
    ax.bar(idx - 0.2, W_MIN, 0.4, color="tab:blue",
           label=f"SGD = min-norm (test MSE {stats['SGD']['test']:.3f})")
    ax.bar(idx + 0.2, w_adam, 0.4, color="tab:orange",
           label=f"Adam (test MSE {stats['Adam']['test']:.3f})")
    ax.axvspan(-0.5, K - 0.5, color="gray", alpha=0.15, label="shared features")
    ax.set(xlabel=f"weight index (0-{K - 1}: shared features, {K}-{D - 1}: one ID per example)",
           ylabel="learned weight", title="Adam leans on the memorising ID features")
    ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "sgd_vs_adam_min_norm.png")

    sgd, adam = stats["SGD"], stats["Adam"]
    check(sgd["train"] < 1e-20 and gap_sgd < 1e-8 and sgd["off_row"] < 1e-10,
          "SGD from 0 interpolates and ends at pinv(X) y, inside the row space of X")
    check(adam["train"] < 1e-10, "Adam interpolates the training data too")
    check(adam["norm"] > 1.2 * norm_min and adam["off_row"] > 0.1 * norm_min,
          "Adam's solution is a different one: > 1.2x the minimum norm, off the row space")
    check(adam["id_share"] > 0.5 > 0.3 > sgd["id_share"],
          "Adam puts most of its weight on the ID features (> 50%), SGD little (< 30%)")
    check(adam["test"] > 5 * sgd["test"], "Adam's test MSE is > 5x SGD's")


if __name__ == "__main__":
    main()
