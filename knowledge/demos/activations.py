"""Sigmoid, tanh, ReLU and leaky ReLU with their derivatives; ReLU at 0; the sigmoid's Jacobian.

Answers 8.3.44.1 (graphs), 8.3.44.2 (pros and cons: saturation, zero-centring, dead units),
8.3.44.3 (ReLU is not differentiable at 0: one-sided derivatives 0 and 1, any value in [0, 1] is a
subgradient, frameworks use 0) and 8.3.44.4 (for a vector x, sigmoid acts elementwise, so its
Jacobian is diag(s * (1 - s)), checked against finite differences).

Usage: python knowledge/demos/activations.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "Activation functions and derivatives; ReLU at 0; sigmoid Jacobian"
QUESTION_IDS = ["8.3.44.1", "8.3.44.2", "8.3.44.3", "8.3.44.4"]

ALPHA = 0.1  # leaky slope (0.01 is common; 0.1 keeps it visible on the plot)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def d_sigmoid(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def d_tanh(x):
    return 1.0 - np.tanh(x) ** 2


def relu(x):
    return np.maximum(x, 0.0)


def d_relu(x):
    return (x > 0).astype(float)  # convention: 0 at x == 0


def leaky_relu(x):
    return np.where(x > 0, x, ALPHA * x)


def d_leaky_relu(x):
    return np.where(x > 0, 1.0, ALPHA)


FUNCS = {"sigmoid": (sigmoid, d_sigmoid), "tanh": (np.tanh, d_tanh), "ReLU": (relu, d_relu),
         f"leaky ReLU (a={ALPHA})": (leaky_relu, d_leaky_relu)}


def main():
    args = parse_args("activations", __doc__)
    rng = np.random.default_rng(0)
    xs = np.linspace(-5, 5, 2001)  # (G,), contains 0 exactly

    ds, dt = d_sigmoid(xs), d_tanh(xs)  # (G,)
    print(f"sigmoid'(x): max {ds.max():.4f} at x = {xs[ds.argmax()]:.2f}; "
          f"sigmoid'(5) = {d_sigmoid(5.0):.4f} (saturated)")
    print(f"tanh'(x):    max {dt.max():.4f} at x = {xs[dt.argmax()]:.2f}; "
          f"tanh'(5) = {d_tanh(5.0):.1e}")
    print(f"sigmoid' <= 0.25: 10 stacked sigmoids scale a gradient by <= 0.25^10 = {0.25**10:.1e}")
    print(f"sigmoid(0) = {sigmoid(0.0)}: outputs not zero-centred; tanh(0) = {np.tanh(0.0)}")

    h = 1e-8
    right, left = (relu(h) - relu(0.0)) / h, (relu(0.0) - relu(-h)) / h
    print(f"ReLU at 0: right derivative {right:.1f}, left derivative {left:.1f} -> not "
          f"differentiable; subgradient in [0, 1], convention relu'(0) = {d_relu(np.array(0.0))}")

    # derivatives on the grid vs centred differences (away from the kink of (leaky) ReLU)
    grid = np.array([-3.0, -0.7, 0.4, 2.5])  # (4,)
    fd_err = {}
    for name, (f, df) in FUNCS.items():
        num = (f(grid + 1e-6) - f(grid - 1e-6)) / 2e-6  # (4,)
        fd_err[name] = relative_error(df(grid), num)
    print("derivative vs finite differences:", {k: f"{v:.1e}" for k, v in fd_err.items()})

    # Jacobian of the vector sigmoid: J[i, j] = d s_i / d x_j
    x = rng.normal(size=5)  # (5,)
    J_num = np.stack([numerical_gradient(lambda i=i: sigmoid(x)[i], x) for i in range(5)])  # (5, 5)
    J = np.diag(sigmoid(x) * (1 - sigmoid(x)))  # (5, 5)
    jac_err = relative_error(J, J_num)
    print(f"vector sigmoid Jacobian = diag(s(1-s)): rel err vs finite differences {jac_err:.1e}, "
          f"max |off-diagonal| of numerical J = {np.abs(J_num - np.diag(np.diag(J_num))).max()}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = [{"lw": 2}, {"lw": 2}, {"lw": 4, "alpha": 0.6}, {"lw": 2, "ls": "--"}]
    for (name, (f, df)), st in zip(FUNCS.items(), styles, strict=True):
        axes[0].plot(xs, f(xs), label=name, **st)
        axes[1].plot(xs, df(xs), label=name, **st)
    axes[0].set(xlabel="x", ylabel="f(x)", title="Activation functions", ylim=(-1.5, 3))
    axes[1].set(xlabel="x", ylabel="f'(x)", title="Derivatives (sigmoid' peaks at 0.25)")
    axes[1].axhline(0.25, color="gray", ls=":", lw=1)
    axes[1].annotate("ReLU at 0: jump; any value\nin [0, 1] is a subgradient", xy=(0, 0.55),
                     xytext=(1.0, 0.45), fontsize=8, arrowprops={"arrowstyle": "->"})
    for ax in axes:
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.legend(fontsize=8)
    save_plot(fig, args.out, "activations.png")

    check(abs(ds.max() - 0.25) < 1e-12 and xs[ds.argmax()] == 0.0, "sigmoid' max is 0.25 at x=0")
    check(abs(dt.max() - 1.0) < 1e-12 and xs[dt.argmax()] == 0.0, "tanh' max is 1 at x=0")
    check(d_sigmoid(5.0) < 0.01 and d_tanh(5.0) < 1e-3, "sigmoid and tanh saturate at |x| = 5")
    check(right == 1.0 and left == 0.0, "ReLU one-sided derivatives at 0 are 1 (right), 0 (left)")
    check(all(e < 1e-6 for e in fd_err.values()), "all four derivatives match finite differences")
    check(jac_err < 1e-6, "vector sigmoid Jacobian equals diag(s*(1-s)) (rel err < 1e-6)")


if __name__ == "__main__":
    main()
