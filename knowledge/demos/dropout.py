"""Inverted dropout: forward, backward, expectation, eval mode, why val loss can beat train loss.

Answers 8.3.43.2 (implement dropout's forward and backward pass in NumPy) and 8.3.48 (validation
loss below training loss). Forward keeps each unit with probability keep_prob and divides by
keep_prob, so the expected output equals the input and eval mode is the identity; backward
multiplies by the same mask. A small net trained with dropout reports a train loss (dropout on)
that sits above the loss of the same weights in eval mode, on train and validation data alike
(the logged number is also a running mean over the epoch, taken while the weights still improve).

Usage: python knowledge/demos/dropout.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "Inverted dropout: forward/backward, expectation, eval mode, train vs eval loss"
QUESTION_IDS = ["8.3.43.2", "8.3.48"]


def dropout_forward(x, keep_prob, rng, train=True):
    if not train:
        return x, None  # eval mode: identity, no rescaling needed
    mask = (rng.random(x.shape) < keep_prob) / keep_prob  # (same as x): 0 or 1/keep_prob
    return x * mask, mask


def dropout_backward(dout, mask):
    return dout * mask  # same mask as the forward pass


def net_loss(params, X, y, keep_prob, rng, train):
    """Affine-relu-dropout-affine, logistic loss; returns loss and (if train) gradients."""
    W1, b1, w2, b2 = params  # (D, H), (H,), (H,), scalar array (1,)
    z = X @ W1 + b1  # (N, H)
    h = np.maximum(z, 0.0)  # (N, H)
    hd, mask = dropout_forward(h, keep_prob, rng, train)  # (N, H)
    s = hd @ w2 + b2[0]  # (N,)
    loss = np.mean(np.logaddexp(0.0, s) - y * s)  # binary cross-entropy on logits
    if not train:
        return loss, None
    ds = (1.0 / (1.0 + np.exp(-s)) - y) / len(y)  # (N,)
    dh = dropout_backward(np.outer(ds, w2), mask) * (z > 0)  # (N, H)
    return loss, [X.T @ dh, dh.sum(0), hd.T @ ds, np.array([ds.sum()])]


def make_data(rng, n):
    X = rng.normal(size=(n, 10))  # (N, D)
    y = (X[:, 0] * X[:, 1] + 0.5 * X[:, 2] + 0.3 * rng.normal(size=n) > 0).astype(float)  # (N,)
    return X, y


def main():
    args = parse_args("dropout", __doc__)
    rng = np.random.default_rng(0)
    keep = 0.5

    # 1) gradient check of the dropout layer with a fixed mask
    x = rng.normal(size=(4, 6))  # (N, H)
    w = rng.normal(size=(4, 6))  # (N, H): L = sum(w * dropout(x))
    _, mask = dropout_forward(x, keep, rng)
    num = numerical_gradient(lambda: np.sum(w * x * mask), x)
    grad_err = relative_error(dropout_backward(w, mask), num)
    print(f"backward with the forward's mask vs finite differences: rel err {grad_err:.2e}")

    # 2) expectation preserved: average over many masks
    xs = np.linspace(-2, 2, 9)  # (9,)
    mean_out = np.mean([dropout_forward(xs, keep, rng)[0] for _ in range(20000)], axis=0)  # (9,)
    print(f"input            {np.round(xs, 2)}\nmean over 20000  {np.round(mean_out, 2)}")
    eval_out, _ = dropout_forward(xs, keep, rng, train=False)

    # 3) train a small net with dropout; log the train loss as it is usually reported
    Xtr, ytr = make_data(rng, 2000)  # plenty of data per parameter, like a big LM: little overfit
    Xva, yva = make_data(rng, 1000)
    params = [0.3 * rng.normal(size=(10, 64)), np.zeros(64), 0.3 * rng.normal(size=64),
              np.zeros(1)]
    rows = []  # per epoch: train loss (dropout on, running mean), train eval-mode, val eval-mode
    for _ in range(20):
        batch_losses = []
        for idx in np.split(rng.permutation(2000), 40):  # mini-batches of 50
            loss, grads = net_loss(params, Xtr[idx], ytr[idx], keep, rng, train=True)
            batch_losses.append(loss)
            for p, g in zip(params, grads, strict=True):
                p -= 0.2 * g
        rows.append([np.mean(batch_losses),
                     net_loss(params, Xtr, ytr, keep, rng, train=False)[0],
                     net_loss(params, Xva, yva, keep, rng, train=False)[0]])
    rows = np.array(rows)  # (epochs, 3)
    gaps = rows[:, 0] - rows[:, 1]
    for e in (0, 4, 19):
        print(f"epoch {e + 1:2d}: train loss (dropout on) {rows[e, 0]:.3f}, same weights eval mode "
              f"{rows[e, 1]:.3f} on train / {rows[e, 2]:.3f} on val")
    print(f"dropout-on minus eval-mode train loss, min over epochs: {gaps.min():.3f}")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ep = np.arange(1, len(rows) + 1)
    ax.plot(ep, rows[:, 0], "o-", ms=3, label="train loss, dropout ON (as logged in training)")
    ax.plot(ep, rows[:, 1], "s-", ms=3, label="train loss, eval mode (dropout off)")
    ax.plot(ep, rows[:, 2], "^-", ms=3, label="val loss, eval mode")
    ax.set(xlabel="epoch", ylabel="binary cross-entropy",
           title=f"Dropout (keep_prob={keep}) inflates the logged train loss")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    save_plot(fig, args.out, "dropout.png")

    check(grad_err < 1e-6, "dropout backward (same mask) matches finite differences")
    check(np.allclose(mean_out, xs, atol=0.06), "mean of dropout output over masks ~ input")
    check(not np.allclose(mean_out * keep, xs, atol=0.06), "without 1/keep_prob the mean shrinks")
    check(np.array_equal(eval_out, xs), "eval mode is the identity")
    check(np.all(gaps > 0), "every epoch: dropout-on train loss > eval-mode loss, same weights")
    check(np.all(rows[:, 2] < rows[:, 0]),
          "every epoch: eval-mode val loss below the logged (dropout-on) train loss")


if __name__ == "__main__":
    main()
