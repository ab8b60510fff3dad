"""Weight normalization w = g * v / ||v||: its gradients, why ||v|| only grows, scale invariance.

Answers 8.3.47. The length of w is the scalar g, learned directly with dL/dg = dL/dw . v/||v||;
the direction comes from v, with dL/dv = (g/||v||) (dL/dw - dL/dg v/||v||): the gradient on w,
scaled by g/||v|| and projected orthogonally to v. Because w does not change when v is rescaled,
dL/dv is orthogonal to v, so a gradient step can only lengthen v
(||v'||^2 = ||v||^2 + lr^2 ||dL/dv||^2). The direction u = v/||v|| moves by about
(lr / ||v||^2) times the gradient with respect to u (dL/du = g dL/dw, projected orthogonally to u),
so lr / ||v||^2 is the effective learning rate of the direction, and it can only go down: a
too-large step lengthens v a lot and so cuts its own learning rate. That is why weight norm is
robust to the learning rate and to the scale of the init. Shown on logistic regression.

Usage: python knowledge/demos/weight_norm.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "Weight normalization: gradients of g and v, dL/dv orthogonal to v, ||v|| only grows"
QUESTION_IDS = ["8.3.47"]


def logistic_loss_grad(w, X, y):
    s = X @ w  # (N,)
    loss = np.mean(np.logaddexp(0.0, s) - y * s)
    return loss, X.T @ (1.0 / (1.0 + np.exp(-s)) - y) / len(y)  # scalar, (D,)


def wn_weight(g, v):
    return g[0] * v / np.linalg.norm(v)  # (D,); g is a shape-(1,) array


def wn_grads(g, v, X, y):
    """Loss, dL/dg (shape (1,)) and dL/dv (D,) via the chain rule through w = g v/||v||."""
    nv = np.linalg.norm(v)
    loss, dw = logistic_loss_grad(wn_weight(g, v), X, y)  # scalar, (D,)
    dg = dw @ v / nv
    dv = (g[0] / nv) * (dw - dg * v / nv)  # (D,)
    return loss, np.array([dg]), dv


def train_wn(g, v, X, y, lr, steps):
    g, v, hist = g.copy(), v.copy(), []
    for _ in range(steps):
        loss, dg, dv = wn_grads(g, v, X, y)
        hist.append([loss, np.linalg.norm(v), abs(g[0]), np.linalg.norm(dv)])
        g -= lr * dg
        v -= lr * dv
    return np.array(hist)  # (steps, 4): loss, ||v||, |g| = ||w||, ||dL/dv||


def main():
    args = parse_args("weight_norm", __doc__)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))  # (N, D)
    y = (X @ rng.normal(size=5) + 0.5 * rng.normal(size=200) > 0).astype(float)  # (N,)
    g, v = np.array([0.7]), 0.1 * rng.normal(size=5)  # (1,), (D,): short v = big direction steps

    _, dg, dv = wn_grads(g, v, X, y)
    err_g = relative_error(dg, numerical_gradient(lambda: wn_grads(g, v, X, y)[0], g))
    err_v = relative_error(dv, numerical_gradient(lambda: wn_grads(g, v, X, y)[0], v))
    cos_v = dv @ v / (np.linalg.norm(dv) * np.linalg.norm(v))
    w_scaled = wn_weight(g, 7.0 * v)  # (D,)
    print(f"dL/dg rel err {err_g:.1e}, dL/dv rel err {err_v:.1e} (vs finite differences)")
    print(f"cos(dL/dv, v) = {cos_v:.1e}: the gradient on v is orthogonal to v")
    print(f"scaling v by 7 changes w by max {np.abs(w_scaled - wn_weight(g, v)).max():.1e}")

    runs = {lr: train_wn(g, v, X, y, lr, 150) for lr in (0.5, 5.0)}
    eff = {lr: lr / h[:, 1] ** 2 for lr, h in runs.items()}  # the direction's learning rate
    for lr, h in runs.items():
        eff0, eff1 = eff[lr][0], eff[lr][-1]
        print(f"lr={lr}: loss {h[0, 0]:.3f} -> {h[-1, 0]:.3f}, ||v|| {h[0, 1]:.2f} -> "
              f"{h[-1, 1]:.2f}, ||w|| = |g| {h[0, 2]:.2f} -> {h[-1, 2]:.2f}, "
              f"direction's learning rate lr/||v||^2 {eff0:.2f} -> {eff1:.2f}")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for (lr, h), c in zip(runs.items(), ("tab:blue", "tab:red"), strict=True):
        axes[0].plot(h[:, 0], color=c, label=f"lr={lr}")
        axes[1].plot(h[:, 1], color=c, label=f"||v||, lr={lr}")
        axes[1].plot(h[:, 2], color=c, ls="--", label=f"|g| = ||w||, lr={lr}")
        axes[2].semilogy(eff[lr], color=c, label=f"lr={lr}")
    axes[0].set(xlabel="GD step", ylabel="logistic loss", title="Weight-normed logistic regression")
    axes[1].set(xlabel="GD step", ylabel="norm", title="||v|| never shrinks; g sets ||w|| directly")
    axes[2].set(xlabel="GD step", ylabel="lr / ||v||^2 (log scale)",
                title="The direction's learning rate only shrinks")
    jump = 10 + int(np.argmax(np.diff(runs[0.5][10:, 1])))  # lr=0.5's largest later ||v|| jump
    axes[2].annotate("an overshooting step lengthens v\nand so cuts its own learning rate",
                     xy=(jump, eff[0.5][jump]), xytext=(jump - 110, 10 * eff[0.5][jump]),
                     fontsize=8, arrowprops={"arrowstyle": "->"})
    axes[0].legend()
    axes[1].legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 0.2))
    axes[2].legend()
    fig.tight_layout()
    save_plot(fig, args.out, "weight_norm.png")

    check(err_g < 1e-6 and err_v < 1e-6, "analytic dL/dg and dL/dv match finite differences")
    check(abs(cos_v) < 1e-10, "dL/dv is orthogonal to v")
    check(np.allclose(w_scaled, wn_weight(g, v), rtol=1e-12), "scaling v leaves w unchanged")
    for lr, h in runs.items():
        check(np.all(np.diff(h[:, 1]) >= 0), f"lr={lr}: ||v|| is non-decreasing under GD")
        check(np.allclose(h[1:, 1] ** 2, h[:-1, 1] ** 2 + lr**2 * h[:-1, 3] ** 2, rtol=1e-10),
              f"lr={lr}: ||v_new||^2 = ||v||^2 + lr^2 ||dL/dv||^2 (Pythagoras)")
        check(h[-1, 0] < 0.7 * h[0, 0], f"lr={lr}: training reduces the loss")
    check(runs[5.0][-1, 1] > runs[0.5][-1, 1], "larger learning rate grows ||v|| more")
    for lr, e in eff.items():
        check(np.all(np.diff(e) <= 0), f"lr={lr}: the direction's learning rate never increases")
    check(eff[5.0][-1] < 0.1 * eff[5.0][0], "lr=5: the direction's learning rate self-reduces by "
          "> 10x")


if __name__ == "__main__":
    main()
