"""Optimizers: Adagrad vs SGD on sparse features, Adam vs SGD(+momentum) on an ill-conditioned loss.

Answers 8.3.59, 8.3.60.1, 8.3.60.2. (1) Linear regression where 40 features are frequent and 10 are
rare (present in 0.5% of examples) but carry as much signal: SGD's single learning rate is capped by
the frequent features, so rare weights barely move; Adagrad divides by the root of each weight's
own accumulated squared gradients, so rarely-updated weights keep large steps. (2) An
ill-conditioned quadratic (curvatures 1 .. 1e-4): SGD's LR is capped by the sharpest direction
and the flat ones crawl; Adam's per-parameter step lr/sqrt(v) is about lr in every direction.
Every optimizer gets its best learning rate from a small grid.

Usage: python knowledge/demos/optimizers.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Adagrad vs SGD on sparse features; Adam vs SGD with momentum on ill-conditioning"
QUESTION_IDS = ["8.3.59", "8.3.60.1", "8.3.60.2"]

rng = np.random.default_rng(0)
N_SPARSE, D_FREQ, D_RARE = 3000, 40, 10
P_FEAT = np.r_[np.full(D_FREQ, 0.5), np.full(D_RARE, 0.005)]  # (D,) how often each feature is on
XS = (rng.random((N_SPARSE, D_FREQ + D_RARE)) < P_FEAT).astype(float)  # (N, D) binary features
W_STAR = rng.choice([-2.0, 2.0], D_FREQ + D_RARE)  # (D,) every feature matters equally
YS = XS @ W_STAR + 0.1 * rng.normal(size=N_SPARSE)  # (N,)
H = np.logspace(0, -4, 8)  # (P,) curvatures of the ill-conditioned quadratic


def run_sparse(method, lr):
    """One pass of batch-1 updates; returns the rare-weight error after every 100 steps."""
    w, acc, errs = np.zeros_like(W_STAR), np.zeros_like(W_STAR), []
    for t in range(N_SPARSE):
        g = XS[t] * (XS[t] @ w - YS[t])  # (D,) nonzero only on the features present
        if method == "adagrad":
            acc += g**2
            w -= lr * g / (np.sqrt(acc) + 1e-8)
        else:
            w -= lr * g
        if t % 100 == 99:
            errs.append(np.linalg.norm(w[D_FREQ:] - W_STAR[D_FREQ:]))
    return np.array(errs), np.linalg.norm(w[:D_FREQ] - W_STAR[:D_FREQ])


def run_quadratic(method, lr, steps=300):
    """f(w) = 0.5 * sum(H * w^2) from w = 1; returns the loss per step and Adam's step sizes."""
    w, m, v = np.ones_like(H), np.zeros_like(H), np.zeros_like(H)
    losses, eff = [], None
    for t in range(1, steps + 1):
        g = H * w  # (P,)
        if method == "adam":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            step_size = lr / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)  # per-parameter learning rate
            w = w - step_size * m / (1 - 0.9**t)
            eff = step_size if t == 20 else eff
        elif method == "momentum":
            m = 0.9 * m + g
            w = w - lr * m
        else:
            w = w - lr * g
        losses.append(0.5 * np.sum(H * w**2))
    return np.array(losses), eff


def best(results):
    """results: {lr: final value}; the lr with the lowest (finite) value."""
    finite = {k: v for k, v in results.items() if np.isfinite(v)}
    return min(finite, key=finite.get)


def main():
    args = parse_args("optimizers", __doc__)
    sgd_lrs, ada_lrs = [0.01, 0.02, 0.05, 0.07, 0.1], [0.1, 0.3, 1.0, 3.0]
    with np.errstate(all="ignore"):
        sgd_runs = {lr: run_sparse("sgd", lr) for lr in sgd_lrs}
        ada_runs = {lr: run_sparse("adagrad", lr) for lr in ada_lrs}
    tot = {lr: r[0][-1] + r[1] for lr, r in sgd_runs.items()}
    lr_s = best(tot)
    lr_a = best({lr: r[0][-1] + r[1] for lr, r in ada_runs.items()})
    (e_sgd, f_sgd), (e_ada, f_ada) = sgd_runs[lr_s], ada_runs[lr_a]
    print(f"sparse regression: {D_FREQ} frequent features (on 50%), {D_RARE} rare (on 0.5%), "
          f"{N_SPARSE} batch-1 steps, best LR per optimizer by total weight error")
    print(f"  SGD     lr={lr_s:<5}: rare-weight error {e_sgd[-1]:.3f}, frequent {f_sgd:.3f}")
    print(f"  Adagrad lr={lr_a:<5}: rare-weight error {e_ada[-1]:.3f}, frequent {f_ada:.3f}")

    grids = {"SGD": ("sgd", [0.3, 1.0, 1.9]), "SGD+momentum 0.9": ("momentum",
             [0.1, 0.3, 1.0, 3.0, 3.7]), "Adam": ("adam", [0.003, 0.01, 0.03, 0.1, 0.3])}
    quad, chosen = {}, {}
    with np.errstate(all="ignore"):
        for name, (method, lrs) in grids.items():
            runs = {lr: run_quadratic(method, lr) for lr in lrs}
            chosen[name] = best({lr: r[0][-1] for lr, r in runs.items()})
            quad[name] = runs[chosen[name]]
    print(f"ill-conditioned quadratic, curvatures {H[0]:g} .. {H[-1]:g} (condition number "
          f"{H[0] / H[-1]:.0f}), loss after 300 steps (start {0.5 * H.sum():.3f}):")
    for name, (losses, _) in quad.items():
        print(f"  {name:17s} lr={chosen[name]:<5}: {losses[-1]:.2e}")
    eff = quad["Adam"][1]
    print("  Adam's per-parameter step size lr/sqrt(v) at step 20: "
          + ", ".join(f"{e:.3g}" for e in eff) + " (larger where curvature is small)")
    print("  memory: SGD keeps no state, momentum 1 and Adam 2 extra values per parameter")
    print("  caveats: the curvature here is axis-aligned, which suits Adam's diagonal scaling;"
          " faster training loss is not better test error (SGD+momentum often generalizes"
          " better on deep nets, Adam needs less LR tuning)")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    steps = np.arange(100, N_SPARSE + 1, 100)
    ax1.plot(steps, e_sgd, "o-", ms=3, label=f"SGD (best lr={lr_s})")
    ax1.plot(steps, e_ada, "s-", ms=3, label=f"Adagrad (best lr={lr_a})")
    ax1.set(xlabel="step (batch size 1)", ylabel="||w_rare - w*_rare||",
            title="Sparse features: rare weights learn faster with Adagrad")
    ax1.legend()
    for name, (losses, _) in quad.items():
        ax2.plot(np.arange(1, len(losses) + 1), losses, label=f"{name} (best lr={chosen[name]})")
    ax2.set(yscale="log", xlabel="step", ylabel="loss",
            title=f"Ill-conditioned quadratic (condition number {H[0] / H[-1]:.0f})")
    ax2.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "optimizers.png")

    check(e_ada[-1] < 0.5 * e_sgd[-1], "Adagrad's rare-weight error is < half of SGD's")
    check(f_ada < 1.0 and f_sgd < 1.0, "both learn the frequent-feature weights")
    check(quad["Adam"][0][-1] < 0.1 * quad["SGD+momentum 0.9"][0][-1],
          "Adam reaches a 10x lower loss than tuned SGD+momentum on the ill-conditioned quadratic")
    check(quad["SGD+momentum 0.9"][0][-1] < quad["SGD"][0][-1], "momentum beats plain SGD")
    check(eff[-1] > 10 * eff[0], "Adam's step for the flattest direction is > 10x the sharpest's")


if __name__ == "__main__":
    main()
