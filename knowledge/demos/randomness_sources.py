"""Where run-to-run variance comes from: split it by source, one seed at a time.

Answers 8.3.66.1. A small MLP (2-16-2, dropout 0.3, mini-batch SGD) is trained on a noisy
two-moons task. Four sources of randomness each get their own generator: the train/validation
split, the weight initialisation, the shuffling of examples into mini-batches, and the dropout
masks. Varying one seed while the other three stay fixed measures how much that source alone
moves the test accuracy; varying all four gives the full run-to-run spread, and fixing all four
gives bit-identical runs (on one machine and library version). The spread from every single source
is of the same order as the total: no source is negligible. Last, the hardware side:
floating-point addition is not associative, so adding the same float32 numbers in a different
order (as parallel GPU reductions do) gives slightly different sums even with every seed fixed.

Usage: python knowledge/demos/randomness_sources.py [--out DIR]
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Run-to-run variance split by source: data split, init, shuffling, dropout"
QUESTION_IDS = ["8.3.66.1"]
SOURCES = ["split", "init", "shuffle", "dropout"]
H, KEEP, EPOCHS, BATCH, LR, RUNS = 16, 0.7, 15, 20, 0.5, 12


def moons(rng, n, noise=0.3):
    t = rng.uniform(0, np.pi, n)  # (n,)
    label = rng.integers(0, 2, n)  # (n,)
    x = np.c_[np.cos(t), np.sin(t)] * np.where(label[:, None] == 0, 1, -1)
    x = x + np.where(label[:, None] == 0, 0.0, 1.0) * np.array([1.0, 0.5])  # second moon shifted
    return x + noise * rng.normal(size=(n, 2)), label  # (n, 2), (n,)


POOL_X, POOL_Y = moons(np.random.default_rng(0), 300)  # the labelled data we have
TEST_X, TEST_Y = moons(np.random.default_rng(1), 5000)  # a large test set, fixed


def train(seeds):
    """One training run; seeds maps each source to its own seed. Returns test accuracy and the
    final weights."""
    g = {s: np.random.default_rng(seeds[s]) for s in SOURCES}
    idx = g["split"].permutation(len(POOL_X))
    tr = idx[:200]  # 200 for training (the other 100 would be the validation set)
    X, y = POOL_X[tr], POOL_Y[tr]
    p = {"W1": g["init"].normal(0, np.sqrt(2 / 2), (2, H)), "b1": np.zeros(H),
         "W2": g["init"].normal(0, np.sqrt(1 / H), (H, 2)), "b2": np.zeros(2)}
    for _ in range(EPOCHS):
        order = g["shuffle"].permutation(len(X))
        for start in range(0, len(X), BATCH):
            b = order[start:start + BATCH]
            z = X[b] @ p["W1"] + p["b1"]  # (B, H)
            mask = (g["dropout"].random(z.shape) < KEEP) / KEEP  # (B, H) inverted dropout
            h = np.maximum(z, 0) * mask  # (B, H)
            logits = h @ p["W2"] + p["b2"]  # (B, 2)
            prob = np.exp(logits - logits.max(1, keepdims=True))
            d = (prob / prob.sum(1, keepdims=True) - np.eye(2)[y[b]]) / len(b)  # (B, 2)
            dz = (d @ p["W2"].T) * mask * (z > 0)  # (B, H)
            grads = {"W1": X[b].T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
            for k in p:
                p[k] = p[k] - LR * grads[k]
    scores = np.maximum(TEST_X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]  # eval: no dropout
    return float(np.mean(np.argmax(scores, 1) == TEST_Y)), p


def main():
    args = parse_args("randomness_sources", __doc__)
    base = dict.fromkeys(SOURCES, 0)
    acc0, p0 = train(base)
    acc0_again, p0_again = train(base)
    identical = acc0 == acc0_again and all(np.array_equal(p0[k], p0_again[k]) for k in p0)
    print(f"all four seeds fixed, trained twice: test accuracy {acc0:.4f} and {acc0_again:.4f}; "
          f"weights bit-identical: {identical}")

    results = {}
    for source in SOURCES:  # vary one source, keep the others at seed 0
        results[source] = np.array([train(base | {source: 1 + r})[0] for r in range(RUNS)])
    results["all four"] = np.array([train(dict.fromkeys(SOURCES, 1000 + r))[0]
                                    for r in range(RUNS)])
    std = {k: float(v.std(ddof=1)) for k, v in results.items()}
    print(f"test accuracy over {RUNS} runs, varying one source at a time (others fixed):")
    for k, v in results.items():
        print(f"  {k:9s}: mean {v.mean():.3f}, std {100 * std[k]:.2f} points, range "
              f"{100 * (v.max() - v.min()):.1f} points")
    share = sum(std[s] ** 2 for s in SOURCES) / std["all four"] ** 2
    print(f"sum of the four single-source variances / variance with all four varying: {share:.2f}"
          " (not exactly 1: sources interact, and 12 runs give rough variances)")

    r = np.random.default_rng(5)
    values = (r.normal(size=100_000) * 10.0 ** r.uniform(-3, 3, 100_000)).astype(np.float32)
    exact = math.fsum(values.astype(np.float64))  # the exact sum of these float32 numbers
    sums = np.array([float(np.sum(values[r.permutation(values.size)], dtype=np.float32))
                     for _ in range(20)])  # (20,) same numbers, different order
    print(f"100000 float32 numbers summed in 20 different orders: {len(np.unique(sums))} distinct "
          f"results, spread {sums.max() - sums.min():.3g} around the exact sum {exact:.6g} "
          f"(relative {(sums.max() - sums.min()) / abs(exact):.1e})")

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    names = list(results)
    ax.bar(range(len(names)), [100 * std[k] for k in names],
           color=["tab:blue"] * len(SOURCES) + ["tab:gray"], label="std of test accuracy")
    ax.bar([len(names)], [0.0], color="k", label="all seeds fixed: 0 (bit-identical)")
    ax.set_xticks(range(len(names) + 1), [f"only {k}" for k in SOURCES] + ["all four", "none"],
                  fontsize=8)
    ax.set(xlabel="which seed varies", ylabel="std of test accuracy (points)",
           title=f"Run-to-run spread by source ({RUNS} runs each)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, k in enumerate(names):
        jitter = np.linspace(-0.15, 0.15, RUNS)
        ax.plot(i + jitter, 100 * results[k], "o", ms=4, label="one run" if i == 0 else None)
    ax.axhline(100 * acc0, color="k", ls=":", label="all seeds 0")
    ax.set_xticks(range(len(names)), [f"only {k}" if k in SOURCES else k for k in names],
                  fontsize=8)
    ax.set(xlabel="which seed varies", ylabel="test accuracy (%)", title="Every run")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(range(len(sums)), sums - exact, "o", label="float32 sum, shuffled order")
    ax.axhline(0, color="k", ls=":", label="exact sum (math.fsum)")
    ax.set(xlabel="summation order (random permutation)", ylabel="sum - exact sum",
           xticks=range(0, len(sums), 2),
           title="Same numbers, different order, different float sum")
    ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "randomness_sources.png")

    check(identical, "with every seed fixed, two runs are bit-identical")
    check(all(std[s] > 0.001 for s in SOURCES),
          "each source alone moves the test accuracy (std > 0.1 points)")
    check(all(std[s] > 0.2 * std["all four"] for s in SOURCES),
          "no source is negligible: each alone gives > 20% of the full spread's std")
    check(len(np.unique(sums)) > 1 and (sums.max() - sums.min()) / abs(exact) < 1e-4,
          "float32 addition is not associative: the order changes the sum (slightly)")


if __name__ == "__main__":
    main()
