"""Dead ReLU units: cause them, detect them, see that they never come back, prevent them.

Answers 8.3.67.1 (what is a dead neuron), 8.3.67.2 (how to detect) and 8.3.67.3 (how to prevent).
A ReLU unit is dead when its pre-activation is <= 0 for every training input: its output is always
0 and so is the gradient of its incoming weights and bias, on every example, so gradient descent
can never move it again. Two causes, each on 8 one-hidden-layer nets (different inits, same data):
a too-large learning rate (the first steps overshoot and knock many units below zero everywhere)
and a strongly negative bias init. Detection is measured, not assumed: a unit counts as dead when
its gradient is exactly zero on every training example. After the damage every net trains 100
more steps with a safe learning rate: dead ReLU units stay dead with bit-identical weights. Leaky
ReLU (slope 0.01 for negative inputs) has no dead units by this measure, since its inactive units
still get a (100x smaller) gradient and keep moving, but that does not mean they come back: only a
few turn active again. The cure is upstream: He init with a small positive bias and a moderate
learning rate leave no unit dead.

Usage: python knowledge/demos/dead_relu.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Dead ReLU units: cause, detect, prevent"
QUESTION_IDS = ["8.3.67.1", "8.3.67.2", "8.3.67.3"]
N, D, H, R = 200, 10, 100, 8  # examples, inputs, hidden units per net, nets per setting
LR_BIG, LR_SAFE, STEPS, MORE = 0.12, 0.05, 150, 100


def init(rng, bias):
    """He init for the hidden layer (std sqrt(2/D)), constant hidden bias."""
    return {"W": rng.normal(0, np.sqrt(2 / D), (D, H)), "b": np.full(H, float(bias)),
            "v": rng.normal(0, np.sqrt(1 / H), H), "c": 0.0}


def grads(p, X, y, alpha):
    """Gradients of MSE/2, the per-example gradient at every hidden pre-activation dz (N, H), and
    the MSE."""
    z = X @ p["W"] + p["b"]  # (N, H)
    slope = np.where(z > 0, 1.0, alpha)  # (N, H), alpha = 0 is plain ReLU
    h = z * slope  # (N, H)
    e = (h @ p["v"] + p["c"] - y) / len(y)  # (N,) d(MSE/2)/d out
    dz = np.outer(e, p["v"]) * slope  # (N, H)
    g = {"W": X.T @ dz, "b": dz.sum(0), "v": h.T @ e, "c": e.sum()}
    return g, dz, float(np.mean((e * len(y)) ** 2))


def train(p, X, y, lr, alpha, steps):
    p = dict(p)
    for _ in range(steps):
        g = grads(p, X, y, alpha)[0]
        for k in p:
            p[k] = p[k] - lr * g[k]
    return p


def inactive(p, X):
    """(H,) bool: pre-activation <= 0 on EVERY training example (ReLU output always 0)."""
    return np.all(X @ p["W"] + p["b"] <= 0, axis=0)


def run_setting(nets, X, y, lr, alpha):
    """Train every net, measure its units, train MORE steps at LR_SAFE, measure again."""
    inact, dead, mse, revived, moved = [], [], [], [], []
    for p_init in nets:
        p = train(p_init, X, y, lr, alpha, STEPS)
        inact.append(inactive(p, X))  # (H,)
        _, dz, err = grads(p, X, y, alpha)
        dead.append(np.all(dz == 0, axis=0))  # (H,) measured: zero gradient on every example
        mse.append(err)
        later = train(p, X, y, LR_SAFE, alpha, MORE)
        revived.append(inact[-1] & ~inactive(later, X))  # inactive then, active on some x now
        moved.append(np.abs(later["W"] - p["W"]).max(axis=0) + np.abs(later["b"] - p["b"]))
    inact, dead, revived, moved = map(np.array, (inact, dead, revived, moved))  # (R, H) each
    return {"inact": inact.mean(axis=1), "dead": dead.mean(axis=1), "mse": np.array(mse),
            "revived": revived.sum() / max(inact.sum(), 1),
            "moved_inactive": float(moved[inact].max()) if inact.any() else None,
            "dead_eq_inact": bool(np.array_equal(dead, inact))}


def main():
    args = parse_args("dead_relu", __doc__)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))  # (N, D)
    y = np.sin(X @ rng.normal(size=D) / 2) + 0.5 * X[:, 0] ** 2  # (N,) non-linear target
    p0 = {bias: [init(rng, bias) for _ in range(R)] for bias in (0.0, -5.0, 0.01)}
    settings = [  # (label, initial params, learning rate, leaky slope)
        (f"ReLU, lr {LR_BIG}", p0[0.0], LR_BIG, 0.0),
        ("ReLU, bias init -5", p0[-5.0], LR_SAFE, 0.0),
        (f"Leaky, lr {LR_BIG}", p0[0.0], LR_BIG, 0.01),
        ("Leaky, bias init -5", p0[-5.0], LR_SAFE, 0.01),
        (f"ReLU, He + bias 0.01,\nlr {LR_SAFE}", p0[0.01], LR_SAFE, 0.0),
    ]
    print(f"{R} nets {D}-{H}-1 per setting, {STEPS} GD steps, then {MORE} more at lr {LR_SAFE}")
    rows = []
    for label, nets, lr, alpha in settings:
        with np.errstate(over="raise", invalid="raise"):  # divergence: an error, not dead units
            r = run_setting(nets, X, y, lr, alpha) | {"label": label}
        rows.append(r)
        moved_txt = "n/a" if r["moved_inactive"] is None else f"{r['moved_inactive']:.1e}"
        print(f"{label.replace(chr(10), ' '):<30} inactive {r['inact'].mean():4.0%} "
              f"(nets {r['inact'].min():.0%}-{r['inact'].max():.0%}), dead (zero gradient on "
              f"every example) {r['dead'].mean():4.0%}, train MSE {r['mse'].mean():.3f}; {MORE} steps "
              f"later: {r['revived']:.0%} of the inactive units active again, max weight change "
              f"of inactive units {moved_txt}")
    print("leaky ReLU's inactive units keep a gradient (x0.01) and keep moving, yet few come back:"
          " it keeps units trainable, it does not revive them")

    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = np.arange(len(rows))
    inact_mean = np.array([r["inact"].mean() for r in rows]) * 100
    err = np.array([[r["inact"].mean() - r["inact"].min(), r["inact"].max() - r["inact"].mean()]
                    for r in rows]).T * 100
    ax.bar(xs - 0.27, inact_mean, 0.27, yerr=err, capsize=3, color="tab:gray",
           label="inactive: pre-activation <= 0 on every example (error bar: range over the nets)")
    ax.bar(xs, [r["dead"].mean() * 100 for r in rows], 0.27, color="tab:red",
           label="dead: gradient exactly 0 on every example")
    ax.bar(xs + 0.27, [r["revived"] * 100 for r in rows], 0.27, color="tab:green",
           label=f"of the inactive: active again after {MORE} more steps")
    for x, r in zip(xs, rows, strict=True):
        ax.text(x, r["dead"].mean() * 100 + 1.5, f"{r['dead'].mean():.0%}", ha="center",
                fontsize=8)
        if r["moved_inactive"] is not None:
            ax.text(x + 0.27, r["revived"] * 100 + 1.5, f"{r['revived']:.0%}", ha="center",
                    fontsize=8, color="tab:green")
    ax.set_xticks(xs, [r["label"] for r in rows], fontsize=8)
    ax.set(xlabel="setting (mean of 8 nets each)", ylabel="% of hidden units", ylim=(0, 119),
           title="Large LR / negative bias kill ReLUs for good; leaky ReLU keeps a gradient")
    ax.legend(loc="upper right", fontsize=8)
    save_plot(fig, args.out, "dead_relu.png")

    relu_lr, relu_bias, leaky_lr, leaky_bias, good = rows
    check(relu_lr["dead"].mean() > 0.4 and relu_bias["dead"].mean() > 0.4,
          "bad settings (too-large lr, bias -5) kill > 40% of ReLU units (mean over 8 nets)")
    check(relu_lr["dead_eq_inact"] and relu_bias["dead_eq_inact"],
          "ReLU: the units with zero gradient on every example are exactly the inactive ones")
    check(relu_lr["revived"] == 0 and relu_bias["revived"] == 0
          and relu_lr["moved_inactive"] == 0 and relu_bias["moved_inactive"] == 0,
          f"dead ReLU units never come back: {MORE} more steps leave their weights bit-identical")
    check(leaky_lr["dead"].max() == 0 and leaky_bias["dead"].max() == 0,
          "leaky ReLU: no unit has zero gradient on every example (measured)")
    check(leaky_lr["moved_inactive"] > 0 and leaky_bias["moved_inactive"] > 0,
          "leaky ReLU: inactive units still get gradient, so their weights keep changing")
    check(good["dead"].max() < 0.05, "He init + small positive bias + moderate lr: < 5% dead")
    check(good["mse"].mean() < min(relu_lr["mse"].mean(), relu_bias["mse"].mean()),
          "healthy nets fit better (lower mean MSE) than the nets with dead units")


if __name__ == "__main__":
    main()
