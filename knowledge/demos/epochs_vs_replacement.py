"""Epochs vs sampling with replacement: coverage of the data and variance of the gradient estimate.

Answers 8.3.51. Drawing N examples with replacement from N sees only about 1 - 1/e = 63.2% of them
(and after k epochs' worth of draws a fraction e^-k is still never seen), while one epoch (a
shuffled pass, sampling without replacement) sees 100%. Averaging per-example gradients over a full
pass without replacement gives exactly the full gradient (variance 0); with replacement the variance
is sigma^2/n, and for partial passes without replacement it shrinks by the finite-population
correction (N - n)/(N - 1).

Usage: python knowledge/demos/epochs_vs_replacement.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Epochs (without replacement) vs sampling with replacement"
QUESTION_IDS = ["8.3.51"]

rng = np.random.default_rng(0)


def coverage_with_replacement(n_data, n_draws):
    """Fraction of distinct examples seen after each draw, shape (n_draws,)."""
    draws = rng.integers(0, n_data, n_draws)  # (n_draws,)
    first = np.zeros(n_data, dtype=bool)
    new = np.zeros(n_draws, dtype=bool)
    for t, i in enumerate(draws):
        new[t] = not first[i]
        first[i] = True
    return np.cumsum(new) / n_data


def coverage_epochs(n_data, n_draws):
    """Shuffled epochs: every draw in an epoch is a new example until the epoch ends."""
    t = np.arange(1, n_draws + 1)
    return np.minimum(t, n_data) / n_data


def mean_gradient_variance(per_example, n, replace, trials=4000):
    """Total variance (trace) of the mean of n per-example gradients around the full gradient."""
    N = len(per_example)
    full = per_example.mean(axis=0)  # (D,)
    est = np.empty((trials, per_example.shape[1]))  # (trials, D)
    for t in range(trials):
        idx = rng.integers(0, N, n) if replace else rng.permutation(N)[:n]
        est[t] = per_example[idx].mean(axis=0)
    return float(np.mean(np.sum((est - full) ** 2, axis=1)))


def main():
    args = parse_args("epochs_vs_replacement", __doc__)
    N = 10_000
    k_max = 4
    cov_rep = coverage_with_replacement(N, k_max * N)  # (k_max*N,)
    cov_ep = coverage_epochs(N, k_max * N)
    seen_1 = cov_rep[N - 1]
    print(f"N={N}: after N draws with replacement, {seen_1:.4f} of the data seen "
          f"(theory 1 - 1/e = {1 - np.exp(-1):.4f}); one shuffled epoch sees {cov_ep[N - 1]:.4f}")
    unseen = {k: 1 - cov_rep[k * N - 1] for k in range(1, k_max + 1)}
    for k, u in unseen.items():
        print(f"  after {k} epochs' worth of draws with replacement: {u:.4f} never seen "
              f"(e^-{k} = {np.exp(-k):.4f}); with epochs: 0")

    # Per-example gradients of linear regression at a fixed w: g_i = x_i (x_i.w - y_i).
    n_small, D = 200, 5
    X = rng.normal(size=(n_small, D))  # (N, D)
    y = X @ rng.normal(size=D) + rng.normal(size=n_small)  # (N,)
    w = np.zeros(D)
    G = X * (X @ w - y)[:, None]  # (N, D) per-example gradients
    sigma2 = float(np.sum(G.var(axis=0)))  # population variance (trace), ddof=0
    fractions = [0.1, 0.25, 0.5, 0.75, 1.0]
    rows = []
    print(f"variance of the mean gradient over n of N={n_small} examples (sigma^2={sigma2:.2f}):")
    for f in fractions:
        n = int(f * n_small)
        v_rep = mean_gradient_variance(G, n, replace=True)
        v_nor = mean_gradient_variance(G, n, replace=False)
        fpc = sigma2 / n * (n_small - n) / (n_small - 1)
        rows.append((n, v_rep, v_nor, sigma2 / n, fpc))
        print(f"  n={n:3d}: with replacement {v_rep:.4f} (theory {sigma2 / n:.4f}), "
              f"without {v_nor:.2e} (theory with FPC {fpc:.2e})")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    t = np.arange(1, k_max * N + 1) / N
    ax1.plot(t, cov_ep, label="epochs (shuffle, no replacement)", lw=2)
    ax1.plot(t, cov_rep, label="with replacement (measured)", lw=2)
    ax1.plot(t, 1 - np.exp(-t), "k:", label="1 - exp(-draws/N)")
    ax1.axhline(1 - np.exp(-1), color="gray", lw=0.8, ls="--")
    ax1.annotate("63.2% after N draws", (1, 1 - np.exp(-1)), (1.4, 0.45),
                 arrowprops=dict(arrowstyle="->"))
    ax1.set(xlabel="number of draws / N (epochs' worth)", ylabel="fraction of examples seen",
            title=f"Coverage of N={N} examples")
    ax1.legend(loc="lower right")
    ns = np.array([r[0] for r in rows])
    ax2.plot(ns, [r[1] for r in rows], "o-", label="with replacement")
    ax2.plot(ns, [r[3] for r in rows], "k:", label="sigma^2 / n")
    ax2.plot(ns[:-1], [r[2] for r in rows][:-1], "s-", label="without replacement")
    ax2.plot(ns[:-1], [r[4] for r in rows][:-1], "k--", label="sigma^2/n * (N-n)/(N-1)")
    ax2.set(yscale="log", xlabel=f"examples averaged n (of N={n_small})",
            ylabel="variance of mean gradient",
            title="Variance of the averaged gradient\n(no replacement at n=N: exactly 0, off the log axis)")
    ax2.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "epochs_vs_replacement.png")

    check(abs(seen_1 - (1 - np.exp(-1))) < 0.01, "N draws with replacement see 63.2% +- 0.01")
    check(cov_ep[N - 1] == 1.0, "one epoch without replacement sees 100% of the examples")
    check(all(abs(u - np.exp(-k)) < 0.01 for k, u in unseen.items()),
          "fraction never seen after k epochs' worth of draws is e^-k +- 0.01")
    check(rows[-1][2] < 1e-20, "full pass without replacement: mean gradient == full gradient")
    check(all(abs(r[1] / r[3] - 1) < 0.1 for r in rows), "with replacement: variance sigma^2/n")
    check(all(abs(r[2] / r[4] - 1) < 0.1 for r in rows[:-1]),
          "without replacement: variance matches the finite-population correction within 10%")
    check(rows[2][2] < 0.6 * rows[2][1], "at half a pass, no replacement has ~half the variance")


if __name__ == "__main__":
    main()
