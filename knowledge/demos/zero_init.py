"""Zero or constant initialisation never breaks the symmetry between hidden units.

Answers 8.3.65. A 2-16-1 tanh network is trained on a "disc vs ring" task from three inits.
All-zero weights: h = tanh(0) = 0 and the output weights are 0, so W1 and W2 get exactly zero
gradient and only the output bias learns. Constant weights: every hidden unit computes the same
thing and gets the same gradient, so all 16 stay identical (one unit, copied 16 times).
Random (Xavier) init breaks the symmetry and learns the circular boundary.

Usage: python knowledge/demos/zero_init.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Zero / constant init keeps hidden units identical; random init breaks symmetry"
QUESTION_IDS = ["8.3.65"]
H = 16


def make_data(rng, n=400):
    X = rng.normal(size=(n, 2))  # (N, 2)
    y = (np.linalg.norm(X, axis=1) < np.sqrt(2 * np.log(2))).astype(float)  # (N,) ~50/50
    return X, y


def init(kind, rng):
    if kind == "zero":
        return {"W1": np.zeros((2, H)), "b1": np.zeros(H), "w2": np.zeros(H), "b2": 0.0}
    if kind == "constant":
        return {"W1": np.full((2, H), 0.5), "b1": np.zeros(H), "w2": np.full(H, 0.5), "b2": 0.0}
    return {"W1": rng.normal(0, np.sqrt(1 / 2), (2, H)), "b1": np.zeros(H),  # Xavier
            "w2": rng.normal(0, np.sqrt(1 / H), H), "b2": 0.0}


def forward(p, X):
    h = np.tanh(X @ p["W1"] + p["b1"])  # (N, H)
    prob = 1 / (1 + np.exp(-(h @ p["w2"] + p["b2"])))  # (N,)
    return h, prob


def train(p, X, y, steps=3000, lr=0.5):
    losses = []
    for _ in range(steps):
        h, prob = forward(p, X)
        losses.append(-np.mean(y * np.log(prob + 1e-12) + (1 - y) * np.log(1 - prob + 1e-12)))
        d = (prob - y) / len(y)  # (N,)
        dh = np.outer(d, p["w2"]) * (1 - h ** 2)  # (N, H)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "w2": h.T @ d, "b2": d.sum()}
        for k in p:
            p[k] = p[k] - lr * g[k]
    return p, np.array(losses)


def main():
    args = parse_args("zero_init", __doc__)
    rng = np.random.default_rng(0)
    X, y = make_data(rng)
    Xte, yte = make_data(rng)
    runs = {}
    for kind in ["zero", "constant", "random"]:
        p, losses = train(init(kind, rng), X, y)
        acc = np.mean((forward(p, Xte)[1] > 0.5) == yte)
        spread = np.max(np.abs(p["W1"] - p["W1"][:, :1]))  # how different the hidden units are
        runs[kind] = (p, losses, acc, spread)
        print(f"{kind:>8} init: final loss {losses[-1]:.3f}, test accuracy {acc:.1%}, "
              f"max difference between hidden-unit weight vectors {spread:.2e}")
    print(f"zero init: |W1| max = {np.max(np.abs(runs['zero'][0]['W1'])):.1f} after training "
          "(no gradient ever reached it)")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for kind, style in [("zero", "-"), ("constant", "--"), ("random", "-")]:
        ax.plot(runs[kind][1], style, lw=2,
                label=f"{kind} init (test acc {runs[kind][2]:.0%})")
    ax.axhline(np.log(2), color="gray", ls=":", label="ln 2 (coin flip)")
    ax.set(xlabel="gradient step", ylabel="training cross-entropy (log scale)", yscale="log",
           title="2-16-1 tanh net on disc-vs-ring: only random init learns")
    ax.legend()
    save_plot(fig, args.out, "zero_init.png")

    pz, pc = runs["zero"][0], runs["constant"][0]
    check(np.all(pz["W1"] == 0) and np.all(pz["w2"] == 0), "zero init: W1 and w2 never move")
    check(np.allclose(pc["W1"], pc["W1"][:, :1]) and np.allclose(pc["w2"], pc["w2"][0]),
          "constant init: all 16 hidden units still identical after training")
    check(runs["random"][3] > 0.5, "random init: hidden units differ")
    check(runs["zero"][2] < 0.7 and runs["constant"][2] < 0.75,
          "zero / constant init give poor accuracy (< 75%)")
    check(runs["random"][2] > 0.9, "random (Xavier) init learns the task (> 90%)")


if __name__ == "__main__":
    main()
