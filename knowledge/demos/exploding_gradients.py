"""Catching exploding gradients from the global gradient norm, and what clipping does about them.

Answers 8.3.46.1. A 5-32-1 tanh MLP is trained by mini-batch SGD on a regression task while a
monitor logs the global gradient norm ||g|| (all parameters together) at every step and raises a
flag when it is non-finite or more than 10x the median of the previous 20 steps. The runs:
a healthy one (lr 0.1) that never trips the monitor; a too-high learning rate (lr 0.7; 0.6 still
trains), where the norm grows by many orders of magnitude within a few dozen steps until the loss
overflows to inf/NaN (the monitor fires at the first jump, long before the NaN); a healthy run hit
by one corrupted batch (an example with inputs 100x too large, as from a units bug), whose
gradient spikes about 100x and throws the loss up 10x or more; and both problems again with
clipping by global norm (g <- g * c / ||g|| when ||g|| > c), which keeps the gradient's direction
but bounds the step to lr * c: the spike barely moves the loss, and the lr 0.7 run gets through
its steep start without blowing up. The monitor still sees the spike, since it logs the norm
before clipping.

Usage: python knowledge/demos/exploding_gradients.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Exploding gradients: watch the global gradient norm; clip it to bound the step"
QUESTION_IDS = ["8.3.46.1"]
N, D, H, B, STEPS = 512, 5, 32, 16, 400
LR, LR_HIGH, BAD_STEP, CLIP, WINDOW, SPIKE = 0.1, 0.7, 150, 1.0, 20, 10.0

rng = np.random.default_rng(0)
X = rng.normal(size=(N, D))  # (N, D)
Y = np.sin(X @ rng.normal(size=D)) + 0.1 * rng.normal(size=N)  # (N,)


def init(r):
    return {"W1": r.normal(0, 1 / np.sqrt(D), (D, H)), "b1": np.zeros(H),
            "w2": r.normal(0, 1 / np.sqrt(H), H), "b2": np.zeros(1)}


def loss_and_grads(p, Xb, yb):
    """MSE/2 of y = w2 . tanh(W1 x + b1) + b2 and its gradients."""
    h = np.tanh(Xb @ p["W1"] + p["b1"])  # (B, H)
    out = h @ p["w2"] + p["b2"][0]  # (B,)
    e = (out - yb) / len(yb)  # (B,)
    dz = np.outer(e, p["w2"]) * (1 - h**2)  # (B, H)
    grads = {"W1": Xb.T @ dz, "b1": dz.sum(0), "w2": h.T @ e, "b2": np.array([e.sum()])}
    return 0.5 * np.mean((out - yb) ** 2), grads


def global_norm(g):
    return float(np.sqrt(sum(np.sum(v**2) for v in g.values())))


def clip_by_global_norm(g, c):
    """Rescale all gradients together so that their global norm is at most c."""
    n = global_norm(g)
    return {k: v * (c / n) for k, v in g.items()} if n > c else g


def monitor(norms):
    """Steps to flag: a non-finite norm, or one above SPIKE x the median of the last WINDOW."""
    flags = []
    for t in range(1, len(norms)):
        recent = norms[max(0, t - WINDOW):t]
        if not np.isfinite(norms[t]) or norms[t] > SPIKE * np.median(recent):
            flags.append(t)
    return flags


def train(lr, clip=None, bad_step=None):
    """Returns the global gradient norm before clipping, the update's norm and the full-data loss
    after every step (inf/NaN once the run has blown up)."""
    r, p = np.random.default_rng(1), init(np.random.default_rng(2))  # same batches, same init
    norms, steps, losses = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(STEPS):
            idx = r.integers(0, N, B)
            Xb, yb = X[idx], Y[idx]
            if t == bad_step:  # one corrupted example: inputs 100x too large, target 100
                Xb, yb = Xb.copy(), yb.copy()
                Xb[0], yb[0] = 100 * Xb[0], 100.0
            _, g = loss_and_grads(p, Xb, yb)
            norms.append(global_norm(g))
            if clip is not None:
                g = clip_by_global_norm(g, clip)
            steps.append(lr * global_norm(g))
            p = {k: v - lr * g[k] for k, v in p.items()}
            losses.append(loss_and_grads(p, X, Y)[0])
    return np.array(norms), np.array(steps), np.array(losses)


def first_nonfinite(a):
    bad = np.flatnonzero(~np.isfinite(a))
    return int(bad[0]) if bad.size else None


def main():
    args = parse_args("exploding_gradients", __doc__)
    names = [f"healthy (lr {LR:g})", f"too-high lr ({LR_HIGH:g})", f"bad batch at step {BAD_STEP}",
             f"bad batch + clip at {CLIP:g}", f"too-high lr + clip at {CLIP:g}"]
    runs = dict(zip(names, [train(LR), train(LR_HIGH), train(LR, bad_step=BAD_STEP),
                            train(LR, clip=CLIP, bad_step=BAD_STEP), train(LR_HIGH, clip=CLIP)],
                    strict=True))
    flags = dict(zip(names, [monitor(r[0]) for r in runs.values()], strict=True))
    healthy, high, spike, spike_clip, high_clip = runs.values()
    print(f"{D}-{H}-1 tanh MLP, batch {B}, {STEPS} steps; monitor flags ||g|| > {SPIKE:g} x "
          f"median of the previous {WINDOW} steps, or a non-finite ||g||")
    for name, (norms, _, losses) in runs.items():
        nan_at = first_nonfinite(losses)
        print(f"  {name:24s}: ||g|| median {np.median(norms[np.isfinite(norms)]):.3g}, max "
              f"{norms[np.isfinite(norms)].max():.3g}; first flag "
              f"{flags[name][0] if flags[name] else '-'}; loss non-finite from step "
              f"{nan_at if nan_at is not None else '-'}; final loss {losses[-1]:.3g}")

    flag_high, nan_high = (flags[names[1]] or [STEPS])[0], first_nonfinite(high[2])
    growth = high[0][np.isfinite(high[0])].max() / high[0][0]
    print(f"too-high lr: flagged at step {flag_high} (||g|| {high[0][flag_high]:.3g}, loss "
          f"{high[2][flag_high - 1]:.3g}), loss overflows at step {nan_high}; ||g|| grew "
          f"{growth:.1e}x before that")
    before = spike[2][BAD_STEP - 1]
    print(f"bad batch: ||g|| {spike[0][BAD_STEP]:.3g} at step {BAD_STEP} vs median "
          f"{np.median(spike[0][:BAD_STEP]):.3g}; loss {before:.3f} -> {spike[2][BAD_STEP]:.3f} "
          f"unclipped, -> {spike_clip[2][BAD_STEP]:.3f} with clipping (update norm "
          f"{spike[1][BAD_STEP]:.3g} vs {spike_clip[1][BAD_STEP]:.3g}, at most lr * c = "
          f"{LR * CLIP:g})")
    tail = slice(STEPS - 100, STEPS)
    print(f"too-high lr + clipping: finite throughout, clipped ||g|| <= {high_clip[1].max() / LR_HIGH:.3g}, "
          f"mean loss over the last 100 steps {high_clip[2][tail].mean():.3f} (start "
          f"{high_clip[2][0]:.3f}; lr {LR:g}: {healthy[2][tail].mean():.3f})")

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    for i, st in [(0, "k-"), (1, "C3-"), (4, "C1-")]:
        norms = runs[names[i]][0]
        ax.semilogy(np.where(norms < 1e29, norms, np.nan), st, lw=1, label=names[i])
    ax.plot([flag_high], [high[0][flag_high]], "C3x", ms=10, mew=2, label="monitor fires")
    ax.axhline(CLIP, color="gray", ls=":", lw=1, label=f"clip threshold c = {CLIP:g}")
    ax.set(xlabel="step", ylabel="global gradient norm ||g|| (before clipping)", ylim=(1e-2, 1e30),
           title=f"lr {LR_HIGH:g}: ||g|| explodes (the line ends in inf/NaN)")
    ax.legend(fontsize=7)
    ax = axes[1]
    t = np.arange(100, 201)
    threshold = [SPIKE * np.median(spike[0][k - WINDOW:k]) for k in t]
    ax.semilogy(t, healthy[0][t], "k-", lw=1, label=names[0])
    ax.semilogy(t, spike[0][t], "C0-", lw=1, label=names[2])
    ax.semilogy(t, threshold, "C0--", lw=1,
                label=f"monitor threshold: {SPIKE:g} x median of last {WINDOW}")
    ax.plot([BAD_STEP], [spike[0][BAD_STEP]], "C0x", ms=10, mew=2, label="monitor fires")
    ax.set(xlabel="step", ylabel="global gradient norm ||g||", ylim=(0.05, 500),
           title="One corrupted batch: a spike in ||g||")
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[2]
    for i, st in [(0, "k-"), (2, "C0-"), (3, "C2--"), (4, "C1-")]:
        ax.plot(runs[names[i]][2], st, lw=1, label=names[i])
    ax.set(yscale="log", xlabel="step", ylabel="training loss (full data)", ylim=(0.1, 100),
           title="Clipped, the spike barely registers in the loss")
    ax.legend(fontsize=7)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "exploding_gradients.png")

    check(not flags[names[0]] and np.all(np.isfinite(healthy[2])),
          "healthy run: finite throughout, the monitor never fires (no false alarm)")
    check(nan_high is not None and flag_high < nan_high - 10 and np.isfinite(high[2][flag_high]),
          "too-high lr: the monitor fires > 10 steps before the loss turns inf/NaN")
    check(growth > 1e6, "too-high lr: ||g|| grows by more than 6 orders of magnitude")
    check(flags[names[2]][:1] == [BAD_STEP],
          "bad batch: the monitor fires exactly at the corrupted step")
    check(spike[2][BAD_STEP] > 10 * before, "bad batch without clipping: the loss jumps > 10x")
    check(spike_clip[1][BAD_STEP] <= LR * CLIP * (1 + 1e-12)
          and spike_clip[2][BAD_STEP] < 1.5 * spike_clip[2][BAD_STEP - 1],
          "with clipping the update norm is <= lr * c and the loss moves < 1.5x")
    check(np.all(np.isfinite(high_clip[2])) and high_clip[2][tail].mean() < high_clip[2][0],
          "too-high lr + clipping: the run stays finite and trains (loss below its start)")


if __name__ == "__main__":
    main()
