"""Early stopping with patience and min_delta on a noisy validation curve, best weights restored.

Answers 8.3.49. A small ReLU net (64 hidden units) is trained by mini-batch SGD on 80 points with
10% flipped labels: the validation loss falls, then creeps up, noisily, as the net memorises the
flipped labels, while the train loss keeps falling. The criterion: stop once the validation loss
has not improved by at least min_delta for `patience` epochs (patience rides out the noise), then
restore the weights of the best epoch, not the last ones. Training continues past the stop only
to show what early stopping avoided.

Usage: python knowledge/demos/early_stopping.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Early stopping: patience, min_delta, restore the best epoch's weights"
QUESTION_IDS = ["8.3.49"]


class EarlyStopper:
    def __init__(self, patience, min_delta):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_w, self.wait = np.inf, -1, None, 0

    def should_stop(self, epoch, val_loss, w):
        if val_loss < self.best_loss - self.min_delta:  # a real improvement
            self.best_loss, self.best_epoch, self.best_w, self.wait = val_loss, epoch, w.copy(), 0
        else:
            self.wait += 1
        return self.wait >= self.patience


def make_data(rng, n, flip=0.1):
    X = rng.normal(size=(n, 2))  # (N, 2)
    y = (X[:, 0] ** 2 + X[:, 1] > 0.5).astype(float)  # (N,): a curved boundary
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]  # label noise the net can memorise
    return X, y


def bce(params, X, y):
    W1, b1, w2, b2 = params  # (2, H), (H,), (H,), (1,)
    s = np.maximum(X @ W1 + b1, 0.0) @ w2 + b2[0]  # (N,)
    return float(np.mean(np.logaddexp(0.0, s) - y * s))


def sgd_step(params, X, y, lr):
    W1, b1, w2, b2 = params
    z = X @ W1 + b1  # (B, H)
    h = np.maximum(z, 0.0)  # (B, H)
    ds = (1.0 / (1.0 + np.exp(-(h @ w2 + b2[0]))) - y) / len(y)  # (B,)
    dz = np.outer(ds, w2) * (z > 0)  # (B, H)
    for p, g in zip(params, (X.T @ dz, dz.sum(0), h.T @ ds, np.array([ds.sum()])), strict=True):
        p -= lr * g


def main():
    args = parse_args("early_stopping", __doc__)
    rng = np.random.default_rng(0)
    epochs, hidden, patience = 300, 64, 20
    Xtr, ytr = make_data(rng, 80)
    Xva, yva = make_data(rng, 200)
    params = [rng.normal(size=(2, hidden)), np.zeros(hidden),
              rng.normal(size=hidden) / np.sqrt(hidden), np.zeros(1)]

    stopper = EarlyStopper(patience=patience, min_delta=1e-3)
    history, train_loss, val_loss, stop_epoch = [], [], [], None
    for epoch in range(epochs):
        for idx in np.split(rng.permutation(80), 8):  # mini-batches of 10
            sgd_step(params, Xtr[idx], ytr[idx], lr=0.05)
        flat = np.concatenate([p.ravel() for p in params])  # (P,): snapshot of all weights
        history.append(flat)
        train_loss.append(bce(params, Xtr, ytr))
        val_loss.append(bce(params, Xva, yva))
        if stop_epoch is None and stopper.should_stop(epoch, val_loss[-1], flat):
            stop_epoch = epoch  # a real run would break here; we go on only to plot
    best, val_loss = stopper.best_epoch, np.array(val_loss)
    shapes = [p.shape for p in params]
    cuts = np.cumsum([np.prod(sh) for sh in shapes])[:-1]
    pieces = np.split(stopper.best_w, cuts)
    restored = [a.reshape(sh) for a, sh in zip(pieces, shapes, strict=True)]

    print(f"patience={stopper.patience}, min_delta={stopper.min_delta}")
    print(f"best epoch {best} (val loss {stopper.best_loss:.4f}), stopped at epoch {stop_epoch}")
    print(f"val loss: restored weights {bce(restored, Xva, yva):.4f}, stop-epoch weights "
          f"{val_loss[stop_epoch]:.4f}, after all {epochs} epochs {val_loss[-1]:.4f}")
    print(f"train loss: best epoch {train_loss[best]:.4f}, after all epochs {train_loss[-1]:.4f}")

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(train_loss, lw=1, label="train loss")
    ax.plot(val_loss, lw=1, label="validation loss")
    ax.axvline(best, color="tab:green", ls="--", label=f"best epoch {best} (weights restored)")
    ax.axvline(stop_epoch, color="tab:red", ls="--",
               label=f"stop epoch {stop_epoch} = best + patience {patience}")
    ax.axvspan(stop_epoch, epochs - 1, color="gray", alpha=0.15,
               label="not trained (shown for reference)")
    ax.set(xlabel="epoch", ylabel="binary cross-entropy",
           title=f"Early stopping: patience {patience}, min_delta {stopper.min_delta}")
    ax.legend(fontsize=8)
    save_plot(fig, args.out, "early_stopping.png")

    check(stop_epoch == best + stopper.patience, "stop_epoch == best_epoch + patience")
    check(np.array_equal(stopper.best_w, history[best]), "restored weights are the best epoch's")
    check(bce(restored, Xva, yva) == stopper.best_loss, "restored weights give the best val loss")
    check(stopper.best_loss <= val_loss[: stop_epoch + 1].min() + stopper.min_delta,
          "no epoch before the stop beat the best by more than min_delta")
    check(val_loss[-1] > stopper.best_loss + 0.02, "training to the end would overfit")
    check(train_loss[-1] < train_loss[best] - 0.05, "train loss kept falling after the best epoch")


if __name__ == "__main__":
    main()
