"""Synchronous vs asynchronous SGD: stale gradients vs waiting for stragglers.

Answers 8.3.61. Linear regression trained by W = 4 simulated workers. Synchronous SGD averages W
fresh gradients per update and waits for the slowest worker; asynchronous SGD applies each worker's
gradient as soon as it is ready, but it was computed on parameters that are `staleness` updates old.
Shows: staleness 0 is plain sequential SGD; at a learning rate where sync converges, growing
staleness first slows and then breaks convergence; in simulated wall-clock time with one straggler,
async makes several times more updates and wins at a modest LR but diverges at a high one.

Usage: python knowledge/demos/async_sgd.py [--out DIR]
"""

import heapq

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Synchronous vs asynchronous SGD: stale gradients and stragglers"
QUESTION_IDS = ["8.3.61"]

rng = np.random.default_rng(0)
N, D, B, W = 512, 10, 8, 4
X = rng.normal(size=(N, D)) * np.linspace(0.5, 1.5, D)  # (N, D)
Y = X @ rng.normal(size=D) + 0.1 * rng.normal(size=N)  # (N,)
L_MAX = float(np.linalg.eigvalsh(X.T @ X / N).max())
BEST = 0.5 * np.mean((X @ np.linalg.lstsq(X, Y)[0] - Y) ** 2)


def excess(w):
    return min(0.5 * np.mean((X @ w - Y) ** 2) - BEST, 1e6) if np.all(np.isfinite(w)) else 1e6


def fmt(v):
    return f"{v:.3g}" if v < 1e6 else "diverged"


def grad(w, idx):
    return X[idx].T @ (X[idx] @ w - Y[idx]) / len(idx)  # (D,)


def sequential(lr, batches):
    w = np.zeros(D)
    for idx in batches:
        w = w - lr * grad(w, idx)
    return w


def async_fixed(lr, batches, staleness):
    """Update t uses the gradient at the parameters of update t - staleness."""
    hist = [np.zeros(D)]
    for t, idx in enumerate(batches):
        w_old = hist[max(0, t - staleness)]
        hist.append(hist[-1] - lr * grad(w_old, idx))
    return np.array([excess(w) for w in hist]), hist[-1]


def sync(lr, steps, seed=5):
    r = np.random.default_rng(seed)
    w, out = np.zeros(D), [excess(np.zeros(D))]
    for _ in range(steps):
        w = w - lr * np.mean([grad(w, r.integers(0, N, B)) for _ in range(W)], axis=0)
        out.append(excess(w))
    return np.array(out)


def wall_clock(lr, speeds, budget, seed=6):
    """Event simulation. Returns (times, excess) for sync and async, and async's mean staleness."""
    r = np.random.default_rng(seed)
    w, t, s_t, s_l = np.zeros(D), 0.0, [0.0], [excess(np.zeros(D))]
    while t + max(speeds) <= budget:  # sync: every step waits for the slowest worker
        w = w - lr * np.mean([grad(w, r.integers(0, N, B)) for _ in speeds], axis=0)
        t += max(speeds)
        s_t.append(t)
        s_l.append(excess(w))
    w, n_upd, a_t, a_l, stale = np.zeros(D), 0, [0.0], [excess(np.zeros(D))], []
    events = [(s, k, w.copy(), 0) for k, s in enumerate(speeds)]  # (finish, worker, w_read, n)
    heapq.heapify(events)
    while events[0][0] <= budget:
        t, k, w_read, n_read = heapq.heappop(events)
        w = w - lr * grad(w_read, r.integers(0, N, B))
        stale.append(n_upd - n_read)
        n_upd += 1
        a_t.append(t)
        a_l.append(excess(w))
        heapq.heappush(events, (t + speeds[k], k, w.copy(), n_upd))
    return (np.array(s_t), np.array(s_l)), (np.array(a_t), np.array(a_l)), float(np.mean(stale))


def main():
    args = parse_args("async_sgd", __doc__)
    steps = 300
    batches = [rng.integers(0, N, B) for _ in range(steps)]
    lr_hi = 0.5 / L_MAX
    seq_w = sequential(lr_hi, batches)
    _, async0_w = async_fixed(lr_hi, batches, 0)
    print(f"linear regression N={N}, D={D}, per-worker batch {B}, W={W}; lr = 0.5/L = {lr_hi:.3f}")
    print(f"  staleness 0 vs sequential SGD: max |w diff| {np.abs(seq_w - async0_w).max():.1e}")
    curves = {"sync (avg of 4 fresh grads)": sync(lr_hi, steps)}
    for s in [0, 1, 2, 4, 8]:
        curves[f"async, staleness {s}"] = async_fixed(lr_hi, batches, s)[0]
    for name, c in curves.items():
        print(f"  {name:28s}: excess loss after {steps} updates {fmt(c[-1])}")

    speeds = [1.0, 1.1, 1.3, 3.0]  # time per gradient for each worker; the last one straggles
    budget = 120.0
    wall = {}
    for tag, lr in [("modest", 0.1 / L_MAX), ("high", 0.8 / L_MAX)]:
        wall[tag] = wall_clock(lr, speeds, budget)
        (st, sl), (at, al), mean_stale = wall[tag]
        print(f"wall clock {budget:g}, worker times {speeds}, lr={lr:.3f} ({tag}): sync "
              f"{len(st) - 1} updates ({(len(st) - 1) / budget:.2f}/time) -> excess {fmt(sl[-1])};"
              f" async {len(at) - 1} updates ({(len(at) - 1) / budget:.2f}/time, mean staleness "
              f"{mean_stale:.1f}) -> excess {fmt(al[-1])}")
    print(f"  updates per time: sync 1/max(t) = {1 / max(speeds):.2f}, async sum(1/t) = "
          f"{sum(1 / s for s in speeds):.2f} (with equal speeds it would be exactly W = {W}x)")
    best_sync = min(wall[k][0][1][-1] for k in wall)
    best_async = min(wall[k][1][1][-1] for k in wall)
    print(f"  each at its better lr: sync {fmt(best_sync)}, async {fmt(best_async)}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, c in curves.items():
        ax1.plot(c, lw=2.5 if name.startswith("sync") else 1.2, label=name,
                 color="k" if name.startswith("sync") else None)
    ax1.set(yscale="log", ylim=(1e-5, 1e3), xlabel="update", ylabel="excess training loss",
            title="Same lr = 0.5/L: stale gradients slow down, then diverge")
    ax1.legend(fontsize=8)
    for tag, ls, lr_txt in [("modest", "-", "0.1/L"), ("high", "--", "0.8/L")]:
        (st, sl), (at, al), _ = wall[tag]
        ax2.plot(st, sl, "k" + ls, label=f"sync, lr {lr_txt} ({len(st) - 1} updates)")
        ax2.plot(at, al, "C1" + ls, label=f"async, lr {lr_txt} ({len(at) - 1} updates)")
    ax2.set(yscale="log", ylim=(1e-5, 1e3), xlabel="simulated wall-clock time",
            ylabel="excess training loss", title=f"Worker times {speeds}: sync waits for the slowest")
    ax2.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "async_sgd.png")

    check(np.allclose(seq_w, async0_w), "async with staleness 0 == sequential SGD")
    check(curves["sync (avg of 4 fresh grads)"][-1] < 0.01, "sync converges at lr = 0.5/L")
    check(curves["async, staleness 8"][-1] > 10 * curves["sync (avg of 4 fresh grads)"][-1],
          "staleness 8 at the same lr ends with a far higher loss than sync (diverges)")
    check(curves["async, staleness 4"][-1] > curves["async, staleness 0"][-1],
          "more staleness, worse final loss (4 vs 0)")
    (st, sl), (at, al), _ = wall["modest"]
    check(len(at) >= W * (len(st) - 1), "async makes >= W times as many updates in the same time")
    check(al[-1] < sl[-1], "at a modest lr async reaches a lower loss in the same wall-clock time")
    check(wall["high"][1][1][-1] > 10 * wall["high"][0][1][-1],
          "at lr = 0.8/L async (with its natural staleness) ends far worse than sync")


if __name__ == "__main__":
    main()
