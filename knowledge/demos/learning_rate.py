"""Learning rate: too high / too low / good, warmup and decay schedules, and weight fluctuation.

Answers 8.3.53.1, 8.3.53.2, 8.3.57.1, 8.3.57.2, 8.3.52. Mini-batch SGD on a small linear regression
with three learning rates (too high diverges, too low crawls, a good one converges); the common
schedules (constant, linear warmup + cosine decay, step decay); how a constant high LR leaves the
weights bouncing around the optimum while decaying it shrinks the fluctuation (and the loss): over
200 runs at equilibrium, the spread of the weights scales like sqrt(lr); and a
toy where warmup matters: f(a, b) = (ab - 1)^2 / 2 started at a = b = 3, where the curvature is
13x larger than at the solution, so the peak LR blows up at step 0 but is stable after warmup.

Usage: python knowledge/demos/learning_rate.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Learning rate: too high / too low / good, schedules, fluctuation and warmup"
QUESTION_IDS = ["8.3.53.1", "8.3.53.2", "8.3.57.1", "8.3.57.2", "8.3.52"]

rng = np.random.default_rng(0)
N, D, B = 256, 8, 8
X = rng.normal(size=(N, D)) * np.linspace(0.5, 2.0, D)  # (N, D) features of different scales
Y = X @ rng.normal(size=D) + 0.5 * rng.normal(size=N)  # (N,)
L_MAX = float(np.linalg.eigvalsh(X.T @ X / N).max())  # largest curvature of the loss
W_OPT = np.linalg.lstsq(X, Y)[0]  # (D,)


def loss(w):
    return 0.5 * np.mean((X @ w - Y) ** 2)


def sgd(schedule, steps, seed=1):
    """Mini-batch SGD; lr given per step by schedule(t). Returns weights after every step."""
    r = np.random.default_rng(seed)
    w = np.zeros(D)
    trace = np.empty((steps, D))  # (steps, D)
    for t in range(steps):
        idx = r.integers(0, N, B)
        g = X[idx].T @ (X[idx] @ w - Y[idx]) / B  # (D,)
        w = w - schedule(t) * g
        trace[t] = w
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e8:
            trace[t:] = np.nan
            break
    return trace


def stationary_spread(lr, steps=3000, chains=200, seed=4):
    """How far SGD's weights wander at a constant lr once the start is forgotten: `chains`
    independent runs started at the optimum; the spread across runs (sqrt of the total variance of
    w) averaged over the last third of the steps."""
    r = np.random.default_rng(seed)
    w = np.tile(W_OPT, (chains, 1))  # (R, D)
    spread = []
    for t in range(steps):
        idx = r.integers(0, N, (chains, B))  # (R, B)
        Xb = X[idx]  # (R, B, D)
        res = np.einsum("rbd,rd->rb", Xb, w) - Y[idx]  # (R, B)
        w = w - lr * np.einsum("rbd,rb->rd", Xb, res) / B
        if t >= 2 * steps // 3:
            spread.append(np.sum(w.var(axis=0)))
    return float(np.sqrt(np.mean(spread)))


def warmup_cosine(peak, warm, total):
    return lambda t: peak * (t + 1) / warm if t < warm else \
        0.5 * peak * (1 + np.cos(np.pi * (t - warm) / (total - warm)))


def step_decay(peak, every, factor=0.1):
    return lambda t: peak * factor ** (t // every)


def toy_warmup(schedule, steps=200):
    """GD on f(a, b) = (ab - 1)^2 / 2 from a = b = 3 (Hessian eigenvalue 26 there, 2 at a=b=1)."""
    a, b, out = 3.0, 3.0, []
    for t in range(steps):
        r = a * b - 1.0
        a, b = a - schedule(t) * r * b, b - schedule(t) * r * a
        out.append(0.5 * (a * b - 1.0) ** 2 if abs(a * b) < 1e100 else np.inf)
    return np.array(out)


def main():
    args = parse_args("learning_rate", __doc__)
    steps_per_epoch, epochs = N // B, 30
    total = steps_per_epoch * epochs
    lrs = {"too high": 2.5 / L_MAX, "high (bounces)": 1.3 / L_MAX, "too low": 0.003 / L_MAX,
           "good": 0.3 / L_MAX}
    print(f"linear regression N={N}, D={D}, batch {B}; largest curvature {L_MAX:.2f}, "
          f"GD diverges above lr = 2/L = {2 / L_MAX:.3f}; optimum loss {loss(W_OPT):.4f}")
    per_epoch = {}
    for name, lr in lrs.items():
        tr = sgd(lambda t, lr=lr: lr, total)
        per_epoch[name] = np.array([loss(np.zeros(D))] + [loss(w) for w in
                                                           tr[steps_per_epoch - 1::steps_per_epoch]])
        print(f"  {name:14s} lr={lr:.4f}: loss after 1, 5, 30 epochs = "
              + ", ".join(f"{per_epoch[name][e]:.4g}" for e in [1, 5, epochs]))

    peak = 0.3 / L_MAX
    schedules = {"constant": lambda t: peak, "warmup + cosine": warmup_cosine(peak, 100, total),
                 "step decay (x0.1)": step_decay(peak, total // 2)}
    traces = {name: sgd(s, total, seed=2) for name, s in schedules.items()}
    last = 150
    half = total // 2
    std_before = float(np.mean(traces["step decay (x0.1)"][half - last:half].std(axis=0)))
    std_after = float(np.mean(traces["step decay (x0.1)"][-last:].std(axis=0)))
    print(f"weight fluctuation of one run (mean std of w over {last} steps): {std_before:.4f} "
          f"before the step decay, {std_after:.4f} after")
    spread_hi, spread_lo = stationary_spread(peak), stationary_spread(peak * 0.1)
    spread_ratio = spread_lo / spread_hi
    print(f"  at equilibrium, over 200 runs: spread of w {spread_hi:.4f} at lr={peak:.4f}, "
          f"{spread_lo:.4f} at lr x0.1; ratio {spread_ratio:.3f} (theory for small lr: the "
          f"variance is proportional to lr, so sqrt(0.1) = {np.sqrt(0.1):.3f}; a little less "
          f"here because lr * largest curvature = {peak * L_MAX:.1f} is not tiny)")
    final = {name: loss(tr[-1]) for name, tr in traces.items()}
    print("  final loss: " + ", ".join(f"{k} {v:.5f}" for k, v in final.items()))

    toy_const = toy_warmup(lambda t: 0.5)
    toy_warm = toy_warmup(lambda t: 0.5 * min(1.0, (t + 1) / 50))
    print(f"warmup toy, peak lr 0.5 (stable at the solution, lr*26 = 13 > 2 at the start): "
          f"no warmup -> loss {toy_const[-1]:.3g}, 50-step linear warmup -> {toy_warm[-1]:.2e}")
    print("exceptions to decay: warm restarts / cyclical LR, fine-tuning with a tiny constant LR,"
          " adaptive optimizers that already shrink steps, and warmup itself (LR first goes up)")

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0, 0]
    for name, c in per_epoch.items():
        ax.plot(np.arange(epochs + 1), c, marker="o", ms=3, label=f"{name} (lr={lrs[name]:.3f})")
    ax.set(yscale="log", xlabel="epoch", ylabel="training loss", ylim=(0.05, 1e6),
           title="Too high diverges or bounces, too low crawls")
    ax.legend()
    ax = axes[0, 1]
    t = np.arange(total)
    for name, s in schedules.items():
        ax.plot(t, [s(i) for i in t], label=name)
    ax.set(xlabel="step", ylabel="learning rate", title="Schedules: warmup then decay")
    ax.legend()
    ax = axes[1, 0]
    j = D - 1
    ax.plot(t, traces["constant"][:, j] - W_OPT[j], lw=0.8, label="constant lr")
    ax.plot(t, traces["step decay (x0.1)"][:, j] - W_OPT[j], lw=0.8, label="lr x0.1 at half")
    ax.axvline(half, color="gray", ls=":")
    ax.set(xlabel="step", ylabel=f"w[{j}] - w*[{j}]", ylim=(-0.15, 0.15),
           title="Weights bounce around the optimum until the LR decays")
    ax.legend()
    ax = axes[1, 1]
    ax.plot(toy_const[:80], label="constant lr 0.5 (diverges)")
    ax.plot(toy_warm[:80], label="linear warmup to 0.5 over 50 steps")
    ax.set(yscale="log", xlabel="step", ylabel="(ab - 1)^2 / 2", ylim=(1e-20, 1e10),
           title="Warmup: sharp start, flat finish (toy f(a,b), a=b=3)")
    ax.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "learning_rate.png")

    hi = per_epoch["too high"][-1]
    check(per_epoch["good"][-1] < per_epoch["too low"][-1] and
          (not np.isfinite(hi) or hi > per_epoch["too low"][-1]),
          "final loss: good < too low < too high (or too high diverged)")
    bounce, good = per_epoch["high (bounces)"][-10:].mean(), per_epoch["good"][-10:].mean()
    check(bounce > 1.2 * good, f"high-but-stable LR bounces at a higher loss ({bounce:.3f} vs "
          f"{good:.3f}, mean of the last 10 epochs)")
    check(per_epoch["too low"][-1] > 2 * per_epoch["good"][-1], "too low is still far from done")
    check(std_after < 0.5 * std_before, "decaying the LR shrinks the weight fluctuation by > 2x")
    check(abs(spread_ratio - np.sqrt(0.1)) < 0.04,
          f"lr x0.1 shrinks the equilibrium spread of the weights by sqrt(0.1) (measured "
          f"{spread_ratio:.3f})")
    check(final["step decay (x0.1)"] < final["constant"] and
          final["warmup + cosine"] < final["constant"], "decayed schedules end with lower loss")
    check(not np.isfinite(toy_const[-1]) or toy_const[-1] > 1e6, "toy without warmup diverges")
    check(toy_warm[-1] < 1e-10, "toy with warmup to the same peak LR converges")


if __name__ == "__main__":
    main()
