"""Magnitude pruning of a small MLP, with and without fine-tuning, vs random pruning.

Answers 8.3.68.1 (why prune: most weights of an over-parameterised net can be zeroed with almost
no accuracy loss, giving a smaller/faster model) and 8.3.68.2 (what to prune: the smallest-magnitude
weights, then fine-tune with the mask fixed). A 10-32-4 ReLU MLP is trained (with a little L2) on
a synthetic task, pruned globally by |w| to 0-95% sparsity, and compared with pruning the same
number of random weights. Only 2 of the 10 inputs matter, so magnitude pruning mostly removes
weights on the noise inputs; after fine-tuning, the sparse net can even beat the dense one
(less overfitting).

Usage: python knowledge/demos/pruning.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Magnitude pruning vs random pruning, with and without fine-tuning"
QUESTION_IDS = ["8.3.68.1", "8.3.68.2"]
D, H, C = 10, 32, 4
STEPS, FT_STEPS, WD = 600, 50, 3e-3
SPARSITIES = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95]


def make_data(rng, n):
    """4 non-linear classes (inside/outside a circle x sign of x0*x1) from 2 of the 10 inputs;
    the other 8 inputs are noise, so many weights are unnecessary."""
    X = rng.normal(size=(n, D))  # (N, D)
    inside = np.hypot(X[:, 0], X[:, 1]) < np.sqrt(2 * np.log(2))  # (N,) ~50/50
    return X, 2 * inside + (X[:, 0] * X[:, 1] > 0)  # (N,) labels 0..3


def forward(p, X):
    h = np.maximum(X @ p["W1"] + p["b1"], 0)  # (N, H)
    return h, h @ p["W2"] + p["b2"]  # (N, C) logits


def accuracy(p, X, y):
    return float(np.mean(np.argmax(forward(p, X)[1], axis=1) == y))


def train(p, X, y, steps, lr=0.1, masks=None, wd=WD):
    """Full-batch GD with momentum on softmax cross-entropy + L2 (wd) on the weight matrices;
    masks keep pruned weights at 0."""
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    Y = np.eye(C)[y]  # (N, C)
    for _ in range(steps):
        h, logits = forward(p, X)
        P = np.exp(logits - logits.max(1, keepdims=True))  # (N, C)
        dlog = (P / P.sum(1, keepdims=True) - Y) / len(y)  # (N, C)
        dh = (dlog @ p["W2"].T) * (h > 0)  # (N, H)
        g = {"W1": X.T @ dh + wd * p["W1"], "b1": dh.sum(0),
             "W2": h.T @ dlog + wd * p["W2"], "b2": dlog.sum(0)}
        for k in p:
            vel[k] = 0.9 * vel[k] - lr * g[k]
            p[k] = p[k] + vel[k]
            if masks and k in masks:
                p[k] = p[k] * masks[k]
    return p


def prune_masks(p, sparsity, rng=None):
    """Global masks over W1 and W2: drop the smallest |w| (or random ones if rng is given)."""
    scores = np.concatenate([p["W1"].ravel(), p["W2"].ravel()])  # (n_weights,)
    scores = rng.random(scores.size) if rng is not None else np.abs(scores)
    keep = scores > np.quantile(scores, sparsity) if sparsity > 0 else np.ones(scores.size, bool)
    n1 = p["W1"].size
    return {"W1": keep[:n1].reshape(p["W1"].shape).astype(float),
            "W2": keep[n1:].reshape(p["W2"].shape).astype(float)}


def main():
    args = parse_args("pruning", __doc__)
    rng = np.random.default_rng(0)
    X, y = make_data(rng, 600)
    Xte, yte = make_data(rng, 2000)
    dense = {"W1": rng.normal(0, np.sqrt(2 / D), (D, H)), "b1": np.zeros(H),
             "W2": rng.normal(0, np.sqrt(1 / H), (H, C)), "b2": np.zeros(C)}
    dense = train(dense, X, y, steps=STEPS)
    dense_acc = accuracy(dense, Xte, yte)
    print(f"dense 10-32-4 MLP ({D * H + H * C} weights): test accuracy {dense_acc:.1%}")

    res = {"magnitude": [], "magnitude + fine-tune": [], "random": [], "random + fine-tune": []}
    for s in SPARSITIES:
        for kind, r in [("magnitude", None), ("random", np.random.default_rng(1))]:
            masks = prune_masks(dense, s, r)
            pruned = {k: v * masks[k] if k in masks else v.copy() for k, v in dense.items()}
            res[kind].append(accuracy(pruned, Xte, yte))
            tuned = train(pruned, X, y, steps=FT_STEPS, masks=masks)
            res[kind + " + fine-tune"].append(accuracy(tuned, Xte, yte))
        print(f"sparsity {s:4.0%}: magnitude {res['magnitude'][-1]:.1%}, + fine-tune "
              f"{res['magnitude + fine-tune'][-1]:.1%} | random {res['random'][-1]:.1%}, "
              f"+ fine-tune {res['random + fine-tune'][-1]:.1%}")

    m90 = prune_masks(dense, 0.9)["W1"]  # (D, H)
    on_signal = m90[:2].sum() / m90.sum()
    print(f"at 90% sparsity {on_signal:.0%} of the surviving first-layer weights read x0, x1 "
          f"(the 2 informative inputs; {2 / D:.0%} if chosen blindly)")

    fig, ax = plt.subplots(figsize=(7, 4.3))
    pct = [100 * s for s in SPARSITIES]
    for kind, st in [("magnitude", "o-"), ("magnitude + fine-tune", "s-"), ("random", "v--"),
                     ("random + fine-tune", "^:")]:
        label = kind.replace(" + ", " pruning + ") if "+" in kind else kind + " pruning"
        ax.plot(pct, [100 * a for a in res[kind]], st, lw=2, label=label)
    ax.axhline(100 / C, color="gray", ls=":", label="chance (4 classes)")
    ax.set(xlabel="% of weights set to zero", ylabel="test accuracy (%)", ylim=(0, 100),
           title="Pruning a 10-32-4 MLP: smallest weights first, then fine-tune")
    ax.legend(loc="lower left", fontsize=8)
    save_plot(fig, args.out, "pruning.png")

    i50, i90 = SPARSITIES.index(0.5), SPARSITIES.index(0.9)
    mag, ft, rnd = res["magnitude"], res["magnitude + fine-tune"], res["random"]
    check(abs(mag[i50] - dense_acc) <= 0.02, "50% magnitude pruning within 2 points of dense")
    check(all(f >= m for f, m in zip(ft[i50:], mag[i50:], strict=True)),
          "fine-tuning never hurts (50-95%)")
    check(ft[i90] >= mag[i90] + 0.05, "fine-tuning recovers >= 5 points at 90% sparsity")
    check(on_signal > 0.5, "magnitude pruning keeps mostly the weights on the informative inputs")
    check(all(m > r + 0.05 for m, r in zip(mag[i50:], rnd[i50:], strict=True)),
          "magnitude beats random pruning by > 5 points at every sparsity >= 50%")


if __name__ == "__main__":
    main()
