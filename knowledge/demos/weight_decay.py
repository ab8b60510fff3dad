"""Weight decay: L2 norm vs squared L2, SGD weight decay, and why Adam needs AdamW.

Answers 8.3.55, 8.3.56. The gradient of lam*||w||_2 is lam*w/||w||: constant magnitude lam however
small w is, and undefined at w = 0 (a kink). The gradient of lam*||w||_2^2 is 2*lam*w: proportional
to w and smooth, so it shrinks big weights hard and small ones gently. With SGD the squared-L2
step equals multiplying the weights by (1 - 2*lr*lam) before the gradient step (weight decay). With
Adam the L2 gradient is divided by sqrt(v), so parameters with large gradients barely decay;
decoupled weight decay (AdamW) shrinks every parameter by the same factor.

Usage: python knowledge/demos/weight_decay.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "L2 norm vs squared L2 penalty, and weight decay in SGD vs Adam(W)"
QUESTION_IDS = ["8.3.55", "8.3.56"]

rng = np.random.default_rng(0)
LAM = 0.1
ADAM_STEPS, ADAM_LR, ADAM_WD = 500, 0.01, 0.1


def adam_run(sigmas, decoupled, steps=ADAM_STEPS, copies=2000, lr=ADAM_LR, wd=ADAM_WD, seed=1):
    """Weights that carry no signal (loss gradient is pure noise of scale sigma_i) start at 1.
    Returns the mean weight over copies after every step, shape (steps, P)."""
    r = np.random.default_rng(seed)
    b1, b2, eps = 0.9, 0.999, 1e-8
    w = np.ones((copies, len(sigmas)))  # (C, P)
    m, v = np.zeros_like(w), np.zeros_like(w)
    hist = np.empty((steps, len(sigmas)))  # (T, P)
    for t in range(1, steps + 1):
        g = sigmas * r.normal(size=w.shape)  # (C, P) noisy gradient, zero mean
        if not decoupled:
            g = g + wd * w  # L2 penalty (wd/2)*||w||^2 folded into the gradient
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        step = lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        w = w - step - (lr * wd * w if decoupled else 0.0)  # AdamW: decay outside Adam
        hist[t - 1] = w.mean(axis=0)
    return hist


def main():
    args = parse_args("weight_decay", __doc__)
    w = rng.normal(size=5)  # (5,) float64
    grad_l2 = LAM * w / np.linalg.norm(w)
    grad_sq = 2 * LAM * w
    num_l2 = numerical_gradient(lambda: LAM * np.linalg.norm(w), w)
    num_sq = numerical_gradient(lambda: LAM * np.sum(w**2), w)
    err_l2, err_sq = relative_error(grad_l2, num_l2), relative_error(grad_sq, num_sq)
    print(f"gradient checks (lam={LAM}): lam*||w|| rel err {err_l2:.1e}, "
          f"lam*||w||^2 rel err {err_sq:.1e}")
    scales = [1e-3, 1.0, 1e3]
    mags_l2 = [np.linalg.norm(LAM * s * w / np.linalg.norm(s * w)) for s in scales]
    mags_sq = [np.linalg.norm(2 * LAM * s * w) for s in scales]
    for s, a, b in zip(scales, mags_l2, mags_sq, strict=True):
        print(f"  w scaled by {s:g}: |grad lam*||w||| = {a:.3g}, |grad lam*||w||^2| = {b:.3g}")
    h = 1e-6  # one-sided derivatives of lam*|w| at 0 (1-D): the kink
    left, right = (LAM * 0 - LAM * abs(-h)) / h, (LAM * abs(h) - 0) / h
    print(f"  at w=0 (1-D): left derivative {left:.3g}, right derivative {right:.3g} -> undefined")

    lr, g = 0.05, rng.normal(size=5)  # (5,) a loss gradient
    sgd_l2 = w - lr * (g + 2 * LAM * w)
    decayed = (1 - 2 * lr * LAM) * w - lr * g
    print(f"SGD with squared L2 == decay by (1 - 2*lr*lam) = {1 - 2 * lr * LAM}: max diff "
          f"{np.abs(sgd_l2 - decayed).max():.1e}")

    sigmas = np.array([10.0, 1.0, 0.1, 0.01])
    h_l2, h_w = adam_run(sigmas, decoupled=False), adam_run(sigmas, decoupled=True)
    print("Adam, weights with pure-noise gradients of scale sigma, start at 1, 500 steps:")
    for i, s in enumerate(sigmas):
        print(f"  sigma={s:<5}: Adam + L2 -> mean w {h_l2[-1, i]:+.3f}, AdamW -> {h_w[-1, i]:+.3f}")
    shrink = (1 - ADAM_LR * ADAM_WD) ** ADAM_STEPS  # AdamW's decay alone
    print(f"  AdamW shrinks all alike ((1 - lr*wd)^500 = {shrink:.3f}); Adam + L2"
          " divides the decay by sqrt(v), so large-gradient weights hardly decay")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    x = np.linspace(-2, 2, 401)
    ax = axes[0]
    ax.plot(x, LAM * np.abs(x), label="lam*|w| (L2 norm, 1-D)")
    ax.plot(x, LAM * x**2, label="lam*w^2 (squared L2)")
    ax.set(xlabel="w", ylabel="penalty", title=f"Penalty (lam={LAM})")
    ax.legend()
    ax = axes[1]
    ax.plot(x[x < 0], LAM * np.sign(x[x < 0]), "C0", label="d/dw lam*|w| = lam*sign(w)")
    ax.plot(x[x > 0], LAM * np.sign(x[x > 0]), "C0")
    ax.plot(x, 2 * LAM * x, "C1", label="d/dw lam*w^2 = 2*lam*w")
    ax.plot([0], [0], "ko", mfc="white", label="kink: undefined at 0")
    ax.set(xlabel="w", ylabel="gradient", title="Constant push vs proportional shrink")
    ax.legend(fontsize=8)
    ax = axes[2]
    for i, s in enumerate(sigmas):
        ax.plot(h_l2[:, i], color=f"C{i}", label=f"Adam+L2, grad noise sigma={s:g}")
    for i in range(len(sigmas)):
        ax.plot(h_w[:, i], "k--", lw=1, label="AdamW, all four sigmas" if i == 0 else None)
    ax.set(xlabel="step", ylabel="mean weight (2000 runs)",
           title="Adam+L2 decays per-parameter; AdamW uniformly")
    ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "weight_decay.png")

    check(err_l2 < 1e-6 and err_sq < 1e-6, "analytic gradients of both penalties match numerics")
    check(np.allclose(mags_l2, LAM), "grad of lam*||w|| has magnitude lam at every scale of w")
    check(np.allclose(mags_sq, [2 * LAM * s * np.linalg.norm(w) for s in scales]),
          "grad of lam*||w||^2 is proportional to ||w||")
    check(right - left > LAM, "lam*|w| has a kink at 0 (one-sided derivatives differ by 2*lam)")
    check(np.allclose(sgd_l2, decayed), "SGD + squared L2 == multiply w by (1 - 2*lr*lam)")
    dev_w = np.abs(h_w[-1] - shrink).max()
    check(dev_w < 0.03, f"AdamW: every parameter ends at (1 - lr*wd)^500 = {shrink:.3f} whatever "
          f"its gradient scale (max deviation {dev_w:.3f})")
    check(h_l2[-1, 0] > 0.85 and abs(h_l2[-1, 2]) < 0.1,
          "Adam + L2: sigma=10 weight keeps > 85%, sigma=0.1 weight decays to ~0 (per-parameter)")
    check(h_l2[-1, 0] - h_w[-1, 0] > 0.2 and h_w[-1, 2] - abs(h_l2[-1, 2]) > 0.3,
          "Adam + L2 and AdamW differ: L2 spares the noisy weight and wipes out the quiet one")


if __name__ == "__main__":
    main()
