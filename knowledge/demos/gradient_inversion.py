"""Recovering a training input exactly from a gradient, or from two weight checkpoints.

Answers 8.3.69. For a dense layer with bias, y = W x + b, the gradient of one example is
dL/dW = (dL/dy) x^T and dL/db = dL/dy, so row i gives x = dL/dW[i] / dL/db[i] whenever
dL/db[i] != 0 -- exact, whatever comes after the layer. With plain SGD and a known learning rate,
two consecutive checkpoints give the gradient, (W_t - W_{t+1}) / lr, hence the input. Conditions:
batch of one (or a row only one example touches), plain SGD (no momentum/Adam), known lr, a bias
term. A batch gradient only gives a weighted mix of the batch's inputs.

Usage: python knowledge/demos/gradient_inversion.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Gradient inversion: exact input recovery from one example's gradient"
QUESTION_IDS = ["8.3.69"]
GLYPHS = {  # 8x8 synthetic "digits"
    0: ["..####..", ".#....#.", "#......#", "#......#",
        "#......#", "#......#", ".#....#.", "..####.."],
    1: ["...##...", "..###...", "...##...", "...##...",
        "...##...", "...##...", "...##...", "..####.."],
    2: [".#####..", "#.....#.", "......#.", ".....#..",
        "...##...", "..#.....", ".#......", "#######."],
    3: ["#######.", "......#.", ".....#..", "....#...",
        "...#....", "...#....", "...#....", "...#...."],
}


def glyph(k):
    return np.array([[c == "#" for c in row] for row in GLYPHS[k]], dtype=float).ravel()  # (64,)


def grads(p, X, y):
    """Mean cross-entropy gradients of a 64-16-4 ReLU MLP for a batch X (B, 64), labels y (B,)."""
    z = X @ p["W1"].T + p["b1"]  # (B, 16); W1 is (out, in) as in y = W x + b
    h = np.maximum(z, 0)  # (B, 16)
    logits = h @ p["W2"].T + p["b2"]  # (B, 4)
    P = np.exp(logits - logits.max(1, keepdims=True))
    d2 = (P / P.sum(1, keepdims=True) - np.eye(4)[y]) / len(y)  # (B, 4)
    d1 = (d2 @ p["W2"]) * (z > 0)  # (B, 16) = dL/dz per example
    return {"W1": d1.T @ X, "b1": d1.sum(0), "W2": d2.T @ h, "b2": d2.sum(0)}, d1


def invert(gW, gb):
    """x = dL/dW[i] / dL/db[i] for the row with the largest |dL/db[i]|."""
    i = int(np.argmax(np.abs(gb)))
    return gW[i] / gb[i]  # (64,)


def main():
    args = parse_args("gradient_inversion", __doc__)
    rng = np.random.default_rng(0)
    p = {"W1": rng.normal(0, 0.25, (16, 64)), "b1": np.full(16, 0.1),
         "W2": rng.normal(0, 0.5, (4, 16)), "b2": np.zeros(4)}
    x = np.clip(glyph(2) + 0.15 * rng.normal(size=64), 0, 1)  # (64,) the private example

    g, _ = grads(p, x[None], np.array([2]))
    x_grad = invert(g["W1"], g["b1"])  # (64,)
    print(f"1 example, from its gradient: max |x - x_rec| = {np.max(np.abs(x - x_grad)):.1e}")

    lr = 0.05  # plain SGD step: checkpoints t and t+1
    W_next, b_next = p["W1"] - lr * g["W1"], p["b1"] - lr * g["b1"]
    x_ckpt = invert((p["W1"] - W_next) / lr, (p["b1"] - b_next) / lr)  # (64,)
    print(f"1 example, from two SGD checkpoints (lr={lr}): max |x - x_rec| = "
          f"{np.max(np.abs(x - x_ckpt)):.1e}")

    labels = np.repeat(np.arange(4), 8)  # (32,) a batch of 32 noisy glyphs
    Xb = np.clip(np.stack([glyph(k) for k in labels]) + 0.15 * rng.normal(size=(32, 64)), 0, 1)
    gb_, d1 = grads(p, Xb, labels)
    i = int(np.argmax(np.abs(gb_["b1"])))
    x_batch = invert(gb_["W1"], gb_["b1"])  # (64,)
    weights = d1[:, i] / d1[:, i].sum()  # (32,) what the recovery actually is
    nearest = np.min(np.linalg.norm(Xb - x_batch, axis=1))
    print(f"batch of 32: recovery = weighted mix of the inputs (weights {weights.min():+.2f} .. "
          f"{weights.max():+.2f}); distance to the nearest real example {nearest:.2f} "
          f"(vs {np.linalg.norm(x - x_grad):.0e} for batch size 1)")

    fig, axes = plt.subplots(1, 4, figsize=(11, 3.6))
    panels = [(x, "original input x\n(private example)"),
              (x_grad, f"from its gradient\ndW[i] / db[i] (err {np.max(np.abs(x - x_grad)):.0e})"),
              (x_ckpt, "from 2 SGD checkpoints\n(W_t - W_t+1) / lr "
                       f"(err {np.max(np.abs(x - x_ckpt)):.0e})"),
              (x_batch, "from a batch-32 gradient:\na mix of 32 inputs")]
    for ax, (img, name) in zip(axes, panels, strict=True):
        ax.imshow(img.reshape(8, 8), cmap="gray_r")
        ax.set(title=name, xticks=[], yticks=[], xlabel="8x8 pixels (dark = 1)")
    fig.suptitle("Dense layer with bias: one example's gradient reveals the input exactly; "
                 "a batch gradient mixes inputs")
    fig.tight_layout()
    save_plot(fig, args.out, "gradient_inversion.png")

    check(np.allclose(x_grad, x, rtol=1e-10, atol=1e-12), 
          "input recovered exactly from its gradient")
    check(np.allclose(x_ckpt, x, rtol=1e-6, atol=1e-8), "input recovered from two SGD checkpoints")
    check(np.allclose(x_batch, weights @ Xb), 
          "batch recovery equals the weighted mix sum_n w_n x_n")
    check(nearest > 0.5, "batch recovery is not any single training example")


if __name__ == "__main__":
    main()
