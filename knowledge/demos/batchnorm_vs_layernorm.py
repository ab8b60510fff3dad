"""Batch norm vs layer norm: which axis each normalizes, train vs eval, and batch size 1.

Answers 8.3.54. On an (N, D) batch, batch norm standardizes each feature (column) over the batch
axis 0 and layer norm each example (row) over the feature axis 1. In training, a BN output depends
on the other examples in the batch; at inference BN uses running statistics (exponential moving
averages of the batch means and variances seen in training, checked here against the data's true
mean and variance), so it no longer does.
With a single example in training mode BN subtracts the example from itself and outputs beta
(all zeros), while LN is unaffected by batch size.

Usage: python knowledge/demos/batchnorm_vs_layernorm.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Batch norm (per feature, over the batch) vs layer norm (per example, over features)"
QUESTION_IDS = ["8.3.54"]

rng = np.random.default_rng(0)
EPS = 1e-5


class BatchNorm:
    def __init__(self, d, momentum=0.1):
        self.gamma, self.beta = np.ones(d), np.zeros(d)  # (D,)
        self.run_mean, self.run_var = np.zeros(d), np.ones(d)  # (D,)
        self.momentum, self.training = momentum, True

    def __call__(self, x):  # x: (N, D)
        if self.training:
            mu, var = x.mean(axis=0), x.var(axis=0)  # (D,) statistics over the batch axis
            self.run_mean += self.momentum * (mu - self.run_mean)
            self.run_var += self.momentum * (var - self.run_var)
        else:
            mu, var = self.run_mean, self.run_var  # fixed statistics at inference
        return self.gamma * (x - mu) / np.sqrt(var + EPS) + self.beta  # (N, D)


def layer_norm(x, gamma=1.0, beta=0.0):  # x: (N, D)
    mu = x.mean(axis=1, keepdims=True)  # (N, 1) statistics over the feature axis
    var = x.var(axis=1, keepdims=True)  # (N, 1)
    return gamma * (x - mu) / np.sqrt(var + EPS) + beta  # (N, D)


def make_batch(n, d=6):
    """Features with very different offsets and scales, like raw pre-activations: feature j has
    mean linspace(-5, 5)[j] and standard deviation j + 1."""
    return rng.normal(size=(n, d)) * np.arange(1, d + 1) + np.linspace(-5, 5, d)  # (N, D)


def main():
    args = parse_args("batchnorm_vs_layernorm", __doc__)
    N, D = 8, 6
    x = make_batch(N, D)  # (N, D)
    bn = BatchNorm(D)
    y_bn, y_ln = bn(x), layer_norm(x)  # (N, D), (N, D)
    print(f"batch x (N={N}, D={D}): column means {np.round(x.mean(0), 2)}")
    print(f"  BN: column means max |.| {np.abs(y_bn.mean(0)).max():.1e}, column stds "
          f"{np.round(y_bn.std(0), 3)}; row means {np.round(y_bn.mean(1), 2)} (not 0)")
    print(f"  LN: row means max |.| {np.abs(y_ln.mean(1)).max():.1e}, row stds "
          f"{np.round(y_ln.std(1), 3)}; column means {np.round(y_ln.mean(0), 2)} (not 0)")

    for _ in range(300):  # fill BN's running statistics during "training"
        bn(make_batch(32, D))
    true_mean, true_std = np.linspace(-5, 5, D), np.arange(1, D + 1.0)  # (D,), (D,)
    mean_err = np.abs(bn.run_mean - true_mean) / true_std  # (D,) in units of each feature's std
    var_ratio = bn.run_var / true_std**2  # (D,)
    print(f"BN running statistics after 300 batches of 32 (momentum {bn.momentum}): mean "
          f"{np.round(bn.run_mean, 2)} (true {np.round(true_mean, 2)}), var / true var "
          f"{np.round(var_ratio, 2)}")
    bn.training = False
    fresh = bn(make_batch(5000, D))  # (5000, D) eval mode on new data from the same distribution
    bn.training = True
    print(f"  eval mode on 5000 fresh examples: column means {np.round(fresh.mean(0), 2)}, "
          f"stds {np.round(fresh.std(0), 2)}")
    x0 = x[:1]  # (1, D) one fixed example
    others_a, others_b = make_batch(7, D), make_batch(7, D) * 3 + 2  # two different batch-mates
    train_a = bn(np.vstack([x0, others_a]))[0]  # (D,)
    train_b = bn(np.vstack([x0, others_b]))[0]
    bn.training = False
    eval_a = bn(np.vstack([x0, others_a]))[0]
    eval_b = bn(np.vstack([x0, others_b]))[0]
    ln_a = layer_norm(np.vstack([x0, others_a]))[0]
    ln_b = layer_norm(np.vstack([x0, others_b]))[0]
    print("same example x0, two different batches:")
    print(f"  BN train: max |difference| {np.abs(train_a - train_b).max():.3f} (depends on batch)")
    print(f"  BN eval : max |difference| {np.abs(eval_a - eval_b).max():.1e} (running stats)")
    print(f"  LN      : max |difference| {np.abs(ln_a - ln_b).max():.1e} (per-example stats)")

    bn1 = BatchNorm(D)
    out_bn1, out_ln1 = bn1(x0), layer_norm(x0)  # (1, D)
    print(f"batch of size 1, training mode: BN -> {np.round(out_bn1[0], 3)} (= beta),"
          f" LN -> {np.round(out_ln1[0], 2)}")
    print("  (x - mean over a batch of one is 0; frameworks raise an error or need eval mode)")

    fig, axes = plt.subplots(2, 3, figsize=(14, 7), height_ratios=[3, 2])
    panels = [(x, "input x (raw)"), (y_bn, "BN: normalize each column over the batch"),
              (y_ln, "LN: normalize each row over its features")]
    for k, (m, name) in enumerate(panels):
        ax = axes[0, k]
        im = ax.imshow(m, cmap="coolwarm", vmin=-np.abs(m).max(), vmax=np.abs(m).max(),
                       aspect="auto")
        ax.set(xlabel="feature j (axis 1)", ylabel="example i in batch (axis 0)", title=name)
        fig.colorbar(im, ax=ax)
        ax = axes[1, k]
        ax.plot(m.mean(axis=0), "o-", label="mean of each feature (column)")
        ax.plot(m.mean(axis=1), "s--", label="mean of each example (row)")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set(xlabel="feature j / example i", ylabel="mean", ylim=(-6, 9))
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "batchnorm_vs_layernorm.png")

    check(np.allclose(y_bn.mean(axis=0), 0, atol=1e-10), "BN: column (feature) means are 0")
    check(np.allclose(y_bn.std(axis=0), 1, atol=1e-3), "BN: column stds are 1")
    check(np.abs(y_bn.mean(axis=1)).max() > 0.1, "BN: row means are not 0")
    check(np.allclose(y_ln.mean(axis=1), 0, atol=1e-10), "LN: row (example) means are 0")
    check(np.allclose(y_ln.std(axis=1), 1, atol=1e-3), "LN: row stds are 1")
    check(np.abs(y_ln.mean(axis=0)).max() > 0.1, "LN: column means are not 0")
    check(np.abs(train_a - train_b).max() > 0.1, "BN in training: x0's output depends on batch")
    check(np.all(mean_err < 0.25) and np.all(np.abs(var_ratio - 1) < 0.2),
          "BN's running mean/var track the data's mean/var (within 0.25 std / 20%)")
    check(np.all(np.abs(fresh.mean(0)) < 0.25) and np.all(np.abs(fresh.std(0) - 1) < 0.2),
          "BN in eval, running stats: fresh data comes out with column means ~0 and stds ~1")
    check(np.allclose(eval_a, eval_b), "BN in eval: x0's output is independent of the batch")
    check(np.allclose(ln_a, ln_b), "LN: output independent of the batch in any mode")
    check(np.allclose(out_bn1, bn1.beta), "BN with batch size 1 in training outputs beta (zeros)")
    check(np.allclose(out_ln1.mean(), 0) and abs(out_ln1.std() - 1) < 1e-3,
          "LN with batch size 1 still normalizes the example")


if __name__ == "__main__":
    main()
