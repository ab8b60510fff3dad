"""Batch size: GD vs SGD vs mini-batch, gradient noise ~ 1/B, and the linear scaling rule.

Answers 8.3.50, 8.3.58.1, 8.3.58.2, 8.3.58.3. On one linear-regression problem it trains with
B = N (gradient descent), B = 1 (SGD) and B = 32 (mini-batch) for the same number of passes over the
data; measures the variance of the mini-batch gradient around the full gradient for B = 1..256
(it falls as 1/B); and checks the linear scaling rule where it matters, once SGD has reached its
noise floor: there the excess loss grows like lr/B, so batch kB with learning rate k*lr after 1/k as
many steps (the same examples seen) ends at the same loss as batch B with lr, while scaling the lr
without the batch ends about k times higher. The rule breaks once k*lr nears the stability limit
2/(largest curvature).

Usage: python knowledge/demos/batch_size.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Batch size: GD vs SGD vs mini-batch, gradient noise and the linear scaling rule"
QUESTION_IDS = ["8.3.50", "8.3.58.1", "8.3.58.2", "8.3.58.3"]

rng = np.random.default_rng(0)
N, D = 1024, 10
X = rng.normal(size=(N, D))  # (N, D)
W_TRUE = rng.normal(size=D)  # (D,)
Y = X @ W_TRUE + 0.5 * rng.normal(size=N)  # (N,)
W_OPT = np.linalg.lstsq(X, Y)[0]  # (D,) least-squares solution
BEST = 0.5 * np.mean((X @ W_OPT - Y) ** 2)  # optimum training loss
HESS = X.T @ X / N  # (D, D) the loss's curvature


def loss(w):
    return 0.5 * np.mean((X @ w - Y) ** 2)


def grad(w, idx):
    Xb, yb = X[idx], Y[idx]  # (B, D), (B,)
    return Xb.T @ (Xb @ w - yb) / len(idx)  # (D,)


def train_passes(batch, lr, passes, seed=1):
    """Epoch-style training (shuffle, then walk through batches); loss after every pass."""
    r = np.random.default_rng(seed)
    w = np.zeros(D)
    losses = [loss(w)]
    for _ in range(passes):
        perm = r.permutation(N)
        for start in range(0, N, batch):
            w -= lr * grad(w, perm[start:start + batch])
        losses.append(loss(w))
    return np.array(losses), N // batch


def gradient_noise(batch, w, trials=3000, seed=2):
    """Mean squared distance of the mini-batch gradient from the full gradient (i.i.d. draws)."""
    r = np.random.default_rng(seed)
    full = grad(w, np.arange(N))  # (D,)
    dev = [np.sum((grad(w, r.integers(0, N, batch)) - full) ** 2) for _ in range(trials)]
    return float(np.mean(dev))


def noise_floor(batch, lr, steps, runs=20, seed=3):
    """Excess loss (loss - optimum) that SGD settles at: `runs` independent runs side by side
    (batches drawn with replacement), averaged over the runs and over the last quarter of the
    steps, when the start is long forgotten. For least squares the excess loss is exactly
    0.5 (w - w*)^T H (w - w*) with H = X^T X / N."""
    r = np.random.default_rng(seed)
    w = np.zeros((runs, D))  # (R, D)
    tail = []
    for t in range(steps):
        idx = r.integers(0, N, (runs, batch))  # (R, B)
        Xb = X[idx]  # (R, B, D)
        res = np.einsum("rbd,rd->rb", Xb, w) - Y[idx]  # (R, B)
        w -= lr * np.einsum("rbd,rb->rd", Xb, res) / batch
        if t >= steps * 3 // 4:
            e = w - W_OPT  # (R, D)
            tail.append(0.5 * np.mean(np.sum((e @ HESS) * e, axis=1)))
    return float(np.mean(tail))


def main():
    args = parse_args("batch_size", __doc__)
    passes = 10
    runs = {"GD (B=N)": (N, 0.3), "mini-batch (B=32)": (32, 0.05), "SGD (B=1)": (1, 0.005)}
    curves = {}
    best = BEST
    print(f"linear regression, N={N}, D={D}; optimum loss {best:.4f}")
    for name, (b, lr) in runs.items():
        curves[name], steps = train_passes(b, lr, passes)
        print(f"  {name:18s} lr={lr:<6} {steps:5d} steps/pass  loss after 1 pass "
              f"{curves[name][1]:.4f}, after {passes} passes {curves[name][-1]:.4f}")
    ex1, ex32 = curves["SGD (B=1)"][-1] - best, curves["mini-batch (B=32)"][-1] - best
    print(f"  B=1 is fastest at first but stalls at a noise floor (excess loss {ex1:.1e} vs "
          f"{ex32:.1e} for B=32); B=N is smooth but makes one update per pass")

    w_probe = np.zeros(D)
    sizes = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    noise = np.array([gradient_noise(b, w_probe) for b in sizes])
    slope = np.polyfit(np.log(sizes), np.log(noise), 1)[0]
    pairs = ", ".join(f"B={b}: {v:.3g}" for b, v in zip(sizes, noise, strict=True))
    print(f"gradient noise E||g_B - g||^2 at w=0: {pairs}")
    print(f"  log-log slope {slope:.3f} (theory -1: variance of a mean of B i.i.d. terms)")

    base_b, base_lr, base_steps = 8, 0.01, 4096  # lr * steps = 41: well past the transient
    l_max = float(np.linalg.eigvalsh(HESS).max())
    base = noise_floor(base_b, base_lr, base_steps)
    print(f"linear scaling rule at the noise floor: B={base_b}, lr={base_lr}, {base_steps} steps "
          f"-> excess loss {base:.2e} (20 runs, last quarter); largest curvature {l_max:.2f}")
    ks = [2, 4, 8, 16, 32, 64, 128]
    scaled, lr_only = {}, {}
    for k in ks:
        scaled[k] = noise_floor(k * base_b, k * base_lr, base_steps // k) / base
        lr_only[k] = noise_floor(base_b, k * base_lr, base_steps // k) / base
        print(f"  k={k:3d}, {base_steps // k:4d} steps, lr={k * base_lr:.2f} (lr*curvature "
              f"{k * base_lr * l_max:.2f}): B={k * base_b:4d} -> excess x{scaled[k]:.2f}; "
              f"B left at {base_b} -> x{lr_only[k]:.3g}")
    print("  the rule holds while k*lr*curvature is small; at k=128 one big step is no longer "
          "k small ones")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.5))
    for name, c in curves.items():
        ax1.plot(np.arange(passes + 1), c - best, marker="o", ms=3, label=name)
    ax1.set(yscale="log", xlabel="passes over the data (epochs)",
            ylabel="excess training loss (loss - optimum)",
            title="Same data budget: small batches make more updates")
    ax1.legend()
    ax2.loglog(sizes, noise, "o-", label=f"measured (slope {slope:.2f})")
    ax2.loglog(sizes, noise[0] / sizes, "k--", label="1/B reference")
    ax2.set(xlabel="batch size B", ylabel="E||g_B - g_full||^2",
            title="Mini-batch gradient noise falls as 1/B")
    ax2.legend()
    ax3.loglog(ks, [scaled[k] for k in ks], "o-", label=f"batch k*{base_b}, lr k*{base_lr}")
    ax3.loglog(ks, [lr_only[k] for k in ks], "s--",
               label=f"batch left at {base_b}, lr k*{base_lr}")
    ax3.loglog(ks, np.ones(len(ks)), "k:", label="same loss as the base run")
    ax3.loglog(ks, ks, "k--", lw=0.8, label="k times the base (noise floor ~ lr/B)")
    ax3.set(xlabel="scale factor k (steps / k, same examples seen)",
            ylabel="excess loss / base run's", ylim=(0.5, 1e3),
            title="Linear scaling rule at the noise floor")
    ax3.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "batch_size.png")

    check(curves["SGD (B=1)"][1] < curves["GD (B=N)"][1],
          "after one pass SGD (B=1) has lower loss than full-batch GD (one step)")
    check(curves["GD (B=N)"][-1] > curves["mini-batch (B=32)"][-1],
          "after 10 passes mini-batch beats full-batch GD per pass over the data")
    check(curves["SGD (B=1)"][-1] - best > 3 * (curves["mini-batch (B=32)"][-1] - best),
          "B=1 with a fixed lr stalls at a higher noise floor than B=32")
    check(abs(slope + 1) < 0.1, f"gradient noise slope {slope:.3f} is -1 +- 0.1 on log-log")
    check(all(abs(scaled[k] - 1) < 0.15 for k in [2, 4, 8]),
          "linear scaling rule: excess loss with (kB, k*lr, steps/k) within 15% of base, k=2,4,8")
    check(all(lr_only[k] > 0.6 * k for k in [2, 4, 8]),
          "scaling the lr without the batch raises the noise floor about k-fold (> 0.6k), k=2,4,8")
    check(scaled[128] > 1.5 and scaled[128] - 1 > 3 * max(abs(scaled[k] - 1) for k in [2, 4, 8]),
          "the rule breaks down at k=128 (excess > 1.5x base, far beyond the modest-k cases)")


if __name__ == "__main__":
    main()
