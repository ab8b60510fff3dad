"""Why a network's loss is not convex in its weights: swap two hidden units.

Answers 8.3.x.nonconvex. A 1-6-1 tanh network is fitted to a 1-D curve. Permuting its hidden
units, each unit taking its incoming weight, bias and outgoing weight along, gives a different
weight vector that computes exactly the same function, so it has exactly the same loss: with 6
units there are 6! = 720 such copies of every minimum (times 2^6 for tanh's sign flips). If the
loss were convex, every point on the straight segment between two minima would be a minimum too.
Halfway between the fitted weights and the copy with two units swapped, those two units have the
same (averaged) weights and compute the same feature, so the network has lost a unit and the loss
rises well above the chord: convexity fails. Weights that multiply across layers are a second,
even simpler source: f(a, b) = (1 - a b)^2 has minima at (1, 1) and (-1, -1) and f = 1 at their
midpoint (0, 0).

Usage: python knowledge/demos/nonconvex.py [--out DIR]
"""

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, parse_args, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, parse_args, save_plot

TITLE = "Non-convexity: swapping two hidden units gives the same loss, their average a worse one"
QUESTION_IDS = ["8.3.x.nonconvex"]
H = 6

rng = np.random.default_rng(0)
X = np.linspace(-3, 3, 60)  # (N,)
Y = np.sin(1.5 * X) + 0.3 * X  # (N,)


def predict(p, x):
    return np.tanh(np.outer(x, p["w1"]) + p["b1"]) @ p["w2"] + p["b2"]  # (N,)


def loss(p):
    return 0.5 * np.mean((predict(p, X) - Y) ** 2)


def fit(p, steps=4000, lr=0.05):
    """Full-batch gradient descent with momentum 0.9 on the mean squared error / 2."""
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    for _ in range(steps):
        h = np.tanh(np.outer(X, p["w1"]) + p["b1"])  # (N, H)
        e = (h @ p["w2"] + p["b2"] - Y) / len(X)  # (N,)
        dz = np.outer(e, p["w2"]) * (1 - h**2)  # (N, H)
        g = {"w1": X @ dz, "b1": dz.sum(0), "w2": h.T @ e, "b2": e.sum()}
        for k in p:
            vel[k] = 0.9 * vel[k] - lr * g[k]
            p[k] = p[k] + vel[k]
    return p


def permute(p, order):
    """Reorder the hidden units; each keeps its incoming weight, bias and outgoing weight."""
    q = {k: v.copy() if k != "b2" else v for k, v in p.items()}
    q["w1"], q["b1"] = p["w1"][order], p["b1"][order]
    q["w2"] = p["w2"][order]
    return q


def blend(p, q, t):
    return {k: (1 - t) * p[k] + t * q[k] for k in p}


def main():
    args = parse_args("nonconvex", __doc__)
    p = fit({"w1": rng.normal(0, 1.5, H), "b1": rng.normal(0, 1, H),
             "w2": rng.normal(0, 1 / np.sqrt(H), H), "b2": 0.0})
    l_star = loss(p)
    units = np.c_[p["w1"], p["b1"], p["w2"]]  # (H, 3) each unit's three weights
    dist = np.linalg.norm(units[:, None] - units[None], axis=2)  # (H, H)
    i, j = np.unravel_index(np.argmax(dist), dist.shape)  # the two most different units
    order = np.arange(H)
    order[[i, j]] = order[[j, i]]
    q = permute(p, order)
    same_fn = np.abs(predict(p, X) - predict(q, X)).max()
    moved = np.linalg.norm(units - np.c_[q["w1"], q["b1"], q["w2"]])
    print(f"fitted 1-{H}-1 tanh net: loss {l_star:.5f}")
    print(f"swap units {i} and {j} (with their weights): the weight vector moves by {moved:.2f}, "
          f"the function by max {same_fn:.1e}, loss {loss(q):.5f}")
    perms = list(itertools.permutations(range(H)))
    perm_gap = max(abs(loss(permute(p, list(o))) - l_star) for o in perms)
    print(f"all {len(perms)} = {H}! permutations give the same loss (max difference "
          f"{perm_gap:.1e}); tanh(-z) = -tanh(z) adds 2^{H} sign flips: {len(perms) * 2**H} copies")

    ts = np.linspace(-0.25, 1.25, 61)
    path = np.array([loss(blend(p, q, t)) for t in ts])  # (T,)
    mid = blend(p, q, 0.5)
    l_mid = loss(mid)
    print(f"on the straight segment from the fit to its swapped copy: loss at the midpoint "
          f"{l_mid:.4f} vs {l_star:.5f} at both ends; convexity would need <= {l_star:.5f}")
    print(f"  at the midpoint units {i} and {j} are identical: weights "
          f"{np.round(units[i], 2)} and {np.round(units[j], 2)} both become "
          f"{np.round([mid['w1'][i], mid['b1'][i], mid['w2'][i]], 2)}")

    f = lambda a, b: (1 - a * b) ** 2  # noqa: E731
    print(f"product of weights: f(a, b) = (1 - ab)^2 is 0 at (1, 1) and (-1, -1), "
          f"{f(0.0, 0.0):g} at the midpoint (0, 0)")

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    ax.plot(ts, path, lw=2, label="loss((1 - t) w + t w_swapped)")
    ax.plot([0, 1], [l_star, l_star], "k--", label="chord: the most a convex loss could reach")
    ax.plot([0, 1], [l_star, loss(q)], "o", color="tab:green", ms=8,
            label="the fit and its swapped copy (same loss)")
    ax.set(xlabel="t (0 = fitted weights, 1 = units swapped)", ylabel="training loss",
           yscale="log", title=f"Loss along the segment between two minima (swap {i} <-> {j})")
    ax.legend(fontsize=8)
    ax = axes[1]
    xs = np.linspace(-3, 3, 200)
    ax.plot(X, Y, "k.", label="data")
    ax.plot(xs, predict(p, xs), lw=3, alpha=0.5, label="fitted net (t = 0)")
    ax.plot(xs, predict(q, xs), "--", label="units swapped (t = 1): same function")
    ax.plot(xs, predict(mid, xs), label="midpoint (t = 0.5): two units merged")
    ax.set(xlabel="x", ylabel="network output", title="Same function at both ends, not in between")
    ax.legend(fontsize=8)
    ax = axes[2]
    a, b = np.meshgrid(np.linspace(-2, 2, 201), np.linspace(-2, 2, 201))
    cs = ax.contourf(a, b, np.log10(f(a, b) + 1e-3), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log10((1 - ab)^2 + 0.001)")
    ax.plot([1, -1], [1, -1], "w*", ms=14, label="minima (1, 1), (-1, -1) on the valley ab = 1")
    ax.plot([0], [0], "rs", ms=8, label="their midpoint (0, 0): loss 1")
    ax.plot([1, -1], [1, -1], "w:", lw=1)
    ax.set(xlabel="a (layer-1 weight)", ylabel="b (layer-2 weight)",
           title="Weights that multiply: f(a, b) = (1 - ab)^2")
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(TITLE)
    fig.tight_layout()
    save_plot(fig, args.out, "nonconvex.png")

    check(same_fn < 1e-12 and moved > 1.0,
          "swapping two units with their weights moves the weights but not the function")
    check(perm_gap < 1e-12, f"all {H}! unit permutations have exactly the same loss")
    check(np.allclose(units[i] * 0.5 + units[j] * 0.5,
                      [mid["w1"][j], mid["b1"][j], mid["w2"][j]]) and
          np.allclose([mid["w1"][i], mid["b1"][i], mid["w2"][i]],
                      [mid["w1"][j], mid["b1"][j], mid["w2"][j]]),
          "at the midpoint the two swapped units are identical")
    check(l_mid > 2 * l_star and l_mid > l_star + 0.01,
          "midpoint loss is far above the chord (> 2x the minimum): the loss is not convex")
    check(f(0.0, 0.0) > f(1.0, 1.0) + f(-1.0, -1.0),
          "(1 - ab)^2: the midpoint of two minima is worse than both")


if __name__ == "__main__":
    main()
