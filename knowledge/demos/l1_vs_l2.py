"""L1 (lasso) vs L2 (ridge) on a sparse truth: coefficient paths, exact zeros, correlated features.

Answers 8.3.x.l1-vs-l2. Linear regression with 20 features, of which only 5 matter; feature 1 is a
noisy copy of feature 0 (correlation 0.98; only feature 0 carries signal). Lasso minimises (1/2N)||y - Xw||^2 + lam ||w||_1
(solved by proximal gradient: a gradient step, then soft thresholding); ridge minimises
(1/2N)||y - Xw||^2 + (alpha/2) ||w||^2 (closed form). Along the paths, lasso coefficients are
exactly zero until lam falls below |x_j . residual| / N and then enter one by one; ridge
coefficients shrink smoothly and are never exactly zero. Compared at the same training error
(lasso at lam = sigma sqrt(2 ln D / N), about the largest correlation pure noise reaches with one
of D features, and ridge at the alpha that fits the training data equally well), lasso zeroes
almost all of the 15 irrelevant features and tends to put most of the weight on one of the two
copies (which one, and how lopsided, varies with the noise), while ridge keeps every feature and
spreads the weight over both copies. Why: the L1 penalty pushes with a
constant force lam * sign(w) however small w is, and at w = 0 its subgradient [-lam, lam] can
cancel any small data gradient; the L2 push 2 * alpha * w vanishes as w -> 0. For an orthonormal
design this is soft thresholding vs proportional shrinkage (last panel).

Usage: python knowledge/demos/l1_vs_l2.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "L1 vs L2: lasso zeroes irrelevant weights exactly, ridge only shrinks them"
QUESTION_IDS = ["8.3.x.l1-vs-l2"]
N, D, SIGMA = 100, 20, 1.0
W_TRUE = np.zeros(D)
W_TRUE[[0, 2, 3, 4, 5]] = [3.0, -2.0, 1.5, 1.0, -1.0]  # feature 1 is a near-copy of feature 0
RELEVANT = W_TRUE != 0

rng = np.random.default_rng(0)


def make_data(n):
    X = rng.normal(size=(n, D))  # (n, D)
    X[:, 1] = X[:, 0] + 0.2 * rng.normal(size=n)  # correlated pair (correlation 0.98)
    return X, X @ W_TRUE + SIGMA * rng.normal(size=n)  # (n, D), (n,)


X, Y = make_data(N)
XT, YT = make_data(2000)  # test set
GRAM, XY = X.T @ X / N, X.T @ Y / N  # (D, D), (D,)
STEP = 1 / np.linalg.eigvalsh(GRAM).max()  # 1 / Lipschitz constant of the smooth part


def soft_threshold(z, t):
    """The proximal operator of t * ||.||_1: shrink towards 0 by t, and stop at 0."""
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def lasso(lam, w, iters=20000, tol=1e-12):
    """Accelerated proximal gradient (FISTA, restarted whenever the momentum points uphill),
    warm-started from w: a gradient step on the squared error from an extrapolated point z, then
    soft thresholding."""
    z, t = w.copy(), 1.0
    for _ in range(iters):
        w_new = soft_threshold(z - STEP * (GRAM @ z - XY), STEP * lam)
        if np.max(np.abs(w_new - w)) < tol:
            return w_new
        if (z - w_new) @ (w_new - w) > 0:  # restart the momentum
            t = 1.0
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_new + (t - 1) / t_new * (w_new - w)
        w, t = w_new, t_new
    return w


def ridge(alpha):
    return np.linalg.solve(GRAM + alpha * np.eye(D), XY)  # (D,)


def mse(w, Xs, ys):
    return float(np.mean((Xs @ w - ys) ** 2))


def ridge_matching(train_mse):
    """The alpha at which ridge's training MSE equals train_mse (bisection on log alpha; the
    training error grows with alpha)."""
    lo, hi = -8.0, 4.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mse(ridge(10**mid), X, Y) < train_mse else (lo, mid)
    return 10 ** ((lo + hi) / 2)


def main():
    args = parse_args("l1_vs_l2", __doc__)
    lam_max = np.abs(XY).max()  # above this the lasso solution is exactly 0
    lams = lam_max * np.logspace(0.3, -2, 40)  # (40,) from 2 * lam_max down
    alphas = np.logspace(3, -3, 40)  # (40,)
    lasso_path, w = [], np.zeros(D)
    for lam in lams:
        w = lasso(lam, w)
        lasso_path.append(w)
    lasso_path = np.array(lasso_path)  # (40, D)
    ridge_path = np.array([ridge(a) for a in alphas])  # (40, D)
    lam = SIGMA * np.sqrt(2 * np.log(D) / N)
    wl = lasso(lam, np.zeros(D))
    alpha = ridge_matching(mse(wl, X, Y))
    wr = ridge(alpha)
    print(f"N={N}, D={D}, {RELEVANT.sum()} relevant features (feature 1 ~ copy of feature 0); "
          f"lam_max = max |X^T y| / N = {lam_max:.3f}")
    print(f"lasso at lam >= lam_max: {np.count_nonzero(lasso_path[lams >= lam_max])} nonzero "
          f"coefficients; ridge at alpha = {alphas[0]:g}: smallest |w| {np.abs(ridge_path[0]).min():.1e}")
    print(f"compared at lam = sigma sqrt(2 ln D / N) = {lam:.4f} and ridge alpha = {alpha:.4f}, "
          f"both with training MSE {mse(wl, X, Y):.4f}")
    for name, wv in [("truth", W_TRUE), ("lasso", wl), ("ridge", wr)]:
        print(f"  {name:5s}: exact zeros {np.sum(wv == 0):2d}/{D}, irrelevant features zeroed "
              f"{np.sum(wv[~RELEVANT] == 0):2d}/{(~RELEVANT).sum()}, w0 {wv[0]:+.3f}, w1 "
              f"{wv[1]:+.3f}, smallest |w| {np.abs(wv).min():.1e}, test MSE {mse(wv, XT, YT):.3f}")

    resid_corr = X.T @ (Y - X @ wl) / N  # (D,) what the L1 subgradient has to balance
    zero = wl == 0
    kkt_zero = np.abs(resid_corr[zero]).max() - lam if zero.any() else -1.0
    kkt_nonzero = np.abs(resid_corr[~zero] - lam * np.sign(wl[~zero])).max()
    print(f"lasso optimality (KKT): |x_j . r| / N <= lam on the zeros (max excess {kkt_zero:+.1e}),"
          f" = lam * sign(w_j) on the rest (max error {kkt_nonzero:.1e})")
    pair_l = min(abs(wl[0]), abs(wl[1])) / max(abs(wl[0]), abs(wl[1]))
    pair_r = min(abs(wr[0]), abs(wr[1])) / max(abs(wr[0]), abs(wr[1]))
    print(f"correlated pair: smaller/larger |w| of features 0 and 1: lasso {pair_l:.2f}, "
          f"ridge {pair_r:.2f}")

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for ax, path, xs, at, name, xl in [
            (axes[0, 0], lasso_path, lams, lam, "Lasso path: exactly zero, then in one by one",
             "lam (L1 strength, log scale)"),
            (axes[0, 1], ridge_path, alphas, alpha, "Ridge path: everything shrinks, nothing is 0",
             "alpha (L2 strength, log scale)")]:
        for j in range(D):
            if RELEVANT[j]:
                ax.plot(xs, path[:, j], lw=2, label=f"feature {j} (true w {W_TRUE[j]:+g})")
            elif j == 1:
                ax.plot(xs, path[:, j], "k--", lw=1.5, label="feature 1 (copy of 0, true w 0)")
            else:
                ax.plot(xs, path[:, j], color="gray", lw=0.8,
                        label="irrelevant features (true w 0)" if j == 6 else None)
        ax.axvline(at, color="tab:purple", ls=":", label="compared here (same training error)")
        ax.set(xscale="log", xlabel=xl, ylabel="coefficient", title=name)
        ax.legend(fontsize=7)
    ax = axes[1, 0]
    idx = np.arange(D)
    ax.bar(idx - 0.27, W_TRUE, 0.27, color="k", label="truth")
    ax.bar(idx, wl, 0.27, color="tab:blue", label=f"lasso: {np.sum(wl == 0)} exact zeros")
    ax.bar(idx + 0.27, wr, 0.27, color="tab:orange", label=f"ridge: {np.sum(wr == 0)} exact zeros")
    ax.set(xlabel="feature", ylabel="coefficient", xticks=idx,
           title="Same training error: lasso is sparse, ridge is not")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    z = np.linspace(-3, 3, 601)
    ax.plot(z, z, "k:", lw=1, label="no penalty: w = z")
    ax.plot(z, soft_threshold(z, 1.0), lw=2, label="L1: soft threshold, exactly 0 for |z| <= 1")
    ax.plot(z, z / 2, lw=2, label="L2: w = z / 2, zero only at z = 0")
    ax.set(xlabel="least-squares coefficient z (orthonormal features)",
           ylabel="penalised coefficient w", title="One coefficient, penalty strength 1")
    ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "l1_vs_l2.png")

    check(kkt_zero < 1e-8 and kkt_nonzero < 1e-8,
          "lasso solution satisfies the L1 optimality conditions (KKT) to 1e-8")
    check(np.all(lasso_path[lams >= lam_max] == 0), "lasso: every coefficient is exactly 0 for "
          "lam >= max |X^T y| / N")
    check(np.all(ridge_path != 0), "ridge: no coefficient is exactly 0 anywhere on its path")
    check(np.sum(wl[~RELEVANT] == 0) >= 12 and np.all(wl[[2, 3, 4, 5]] != 0),
          "lasso zeroes >= 12 of the 15 irrelevant features exactly and keeps the relevant ones")
    check(np.all(wr != 0), "ridge with the same training error keeps every feature (no exact 0)")
    check(pair_r > 0.5 and pair_l < 0.8 * pair_r,
          "correlated copies: ridge spreads the weight over both (smaller >= half the larger), "
          "lasso's split is more lopsided")


if __name__ == "__main__":
    main()
