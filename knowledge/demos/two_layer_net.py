"""Two-layer ReLU network in plain NumPy: forward, backward, gradient check, overfit a tiny batch.

Answers 8.3.43.1 (write the forward and backward pass of affine-relu-affine-softmax by hand) and
8.3.41 (overfit first): every analytic gradient is compared with centred finite differences in
float64, by the relative error of the whole gradient array, ||a - n|| / (||a|| + ||n||) (an
element-wise ratio raises false alarms on entries that are nearly zero, where the finite difference
is mostly rounding error), then the net is trained on 8 examples with random labels until the loss
is near zero.
If a model cannot memorise 8 examples, the bug is in the code, not in the regularisation.

Usage: python knowledge/demos/two_layer_net.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, norm_relative_error, numerical_gradient, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, norm_relative_error, numerical_gradient, parse_args, save_plot

TITLE = "Two-layer ReLU net: hand-written backprop, gradient check, overfit 8 examples"
QUESTION_IDS = ["8.3.43.1", "8.3.41"]


def init_params(rng, d_in, hidden, n_classes, scale):
    return {
        "W1": scale * rng.normal(size=(d_in, hidden)),  # (D, H)
        "b1": scale * rng.normal(size=hidden),  # (H,)
        "W2": scale * rng.normal(size=(hidden, n_classes)),  # (H, C)
        "b2": scale * rng.normal(size=n_classes),  # (C,)
    }


def loss_and_grads(p, X, y):
    """Mean softmax cross-entropy and the gradient of every parameter."""
    n = X.shape[0]
    # forward
    z1 = X @ p["W1"] + p["b1"]  # (N, H)
    h = np.maximum(z1, 0.0)  # (N, H)
    scores = h @ p["W2"] + p["b2"]  # (N, C)
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), for stability
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    loss = -log_probs[np.arange(n), y].mean()
    # backward
    dscores = np.exp(log_probs)  # (N, C), softmax probabilities
    dscores[np.arange(n), y] -= 1.0
    dscores /= n  # (N, C): dL/dscores = (softmax - onehot) / N
    grads = {"W2": h.T @ dscores, "b2": dscores.sum(axis=0)}  # (H, C), (C,)
    dh = dscores @ p["W2"].T  # (N, H)
    dz1 = dh * (z1 > 0)  # (N, H): ReLU passes gradient only where it was active
    grads["W1"] = X.T @ dz1  # (D, H)
    grads["b1"] = dz1.sum(axis=0)  # (H,)
    return loss, grads


def gradient_check(rng):
    X = rng.normal(size=(6, 4))  # (N, D)
    y = rng.integers(0, 3, size=6)  # (N,)
    p = init_params(rng, 4, 5, 3, scale=1.0)
    _, grads = loss_and_grads(p, X, y)
    errors = {}
    for name in p:
        num = numerical_gradient(lambda: loss_and_grads(p, X, y)[0], p[name], eps=1e-5)
        errors[name] = norm_relative_error(grads[name], num)
    return errors


def overfit_tiny_batch(rng, steps=300, lr=0.5):
    X = rng.normal(size=(8, 10))  # (N, D): 8 examples
    y = rng.integers(0, 4, size=8)  # (N,): random labels, so only memorisation can fit them
    p = init_params(rng, 10, 50, 4, scale=0.3)
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_grads(p, X, y)
        losses.append(loss)
        for name in p:
            p[name] -= lr * grads[name]  # vanilla gradient descent
    acc = np.mean(np.argmax(np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"], 1) == y)
    return np.array(losses), acc


def main():
    args = parse_args("two_layer_net", __doc__)
    rng = np.random.default_rng(0)

    errors = gradient_check(rng)
    print("gradient check (float64, centred differences), ||analytic - numeric|| / "
          "(||analytic|| + ||numeric||) per parameter:")
    for name, err in errors.items():
        print(f"  {name}: {err:.2e}")

    losses, acc = overfit_tiny_batch(rng)
    print(f"overfit 8 examples / 4 random labels: loss {losses[0]:.3f} -> {losses[-1]:.4f} "
          f"after {len(losses)} GD steps, train accuracy {acc:.0%}")
    print(f"chance-level loss would be ln(4) = {np.log(4):.3f}")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.semilogy(losses, label="train loss (8 examples)")
    ax.axhline(np.log(4), color="gray", ls=":", label="chance: ln 4")
    ax.axhline(0.01, color="tab:red", ls="--", label="target 0.01")
    ax.set(xlabel="gradient-descent step", ylabel="cross-entropy loss (log scale)",
           title="Overfit a tiny batch first: loss should go to ~0")
    ax.legend()
    save_plot(fig, args.out, "two_layer_net.png")

    for name, err in errors.items():
        check(err < 1e-7, f"analytic d loss/d {name} matches finite differences (rel err < 1e-7)")
    check(losses[-1] < 0.01, "two-layer net drives the loss on 8 examples below 0.01")
    check(acc == 1.0, "all 8 randomly labelled examples are memorised")


if __name__ == "__main__":
    main()
