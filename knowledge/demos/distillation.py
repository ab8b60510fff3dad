"""Knowledge distillation vs training the small model from scratch.

Answers 8.3.70. A teacher MLP (2-32-32-3) is trained on 400 labelled points. A small student
(2-8-3) has only 30 labelled points. Same architecture, steps and init seed, three ways:
(a) from scratch on the 30 hard labels; (b) on the same 30 points with the teacher's softened
probabilities (temperature T, loss scaled by T^2) mixed 50/50 with the hard labels; (c) as (b) plus
the teacher's soft labels on 500 unlabelled "transfer" points. Soft labels say how confident the
teacher is and which classes are close, and the teacher can label data nobody labelled by hand.
Measured honestly: (c) beats (a) on every seed tried (+3 to +22 points); (b) alone is seed-dependent
(-2 to +10 points), and the same student trained on the teacher's 400 labels does as well as (c), so
here the gain is the teacher's information, not a capacity trick.

Usage: python knowledge/demos/distillation.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import check, parse_args, save_plot  # noqa: E402

TITLE = "Knowledge distillation: a small student learns more from a teacher's soft labels"
QUESTION_IDS = ["8.3.70"]
C, T, STEPS = 3, 2.0, 500
CENTERS = np.array([[-2, 0], [2, 0], [0, 2], [0, -2], [-1.2, -1.5], [1.2, 1.5]])  # (6, 2)
BLOB_CLASS = np.array([0, 0, 1, 1, 2, 2])  # each class = two opposite blobs: non-linear


def make_data(rng, n):
    k = rng.integers(0, 6, n)  # (N,)
    return CENTERS[k] + 0.6 * rng.normal(size=(n, 2)), BLOB_CLASS[k]  # (N, 2), (N,)


def init(rng, sizes):
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return [(rng.normal(0, np.sqrt(1 / a), (a, b)), np.zeros(b)) for a, b in pairs]


def forward(p, X):
    hs = [X]
    for W, b in p[:-1]:
        hs.append(np.tanh(hs[-1] @ W + b))  # (N, width)
    return hs, hs[-1] @ p[-1][0] + p[-1][1]  # list, (N, C) logits


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def train(p, parts, steps=STEPS, lr=0.1):
    """GD + momentum on sum_k weight_k * temp_k^2 * CE(targets_k, softmax(logits / temp_k))."""
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in p]
    X = np.concatenate([part[0] for part in parts])  # (N_total, 2)
    for _ in range(steps):
        hs, z = forward(p, X)
        d, i = [], 0
        for Xk, targets, temp, weight in parts:  # d(T^2 CE)/d logits = T (softmax(z/T) - q)
            n = len(Xk)
            d.append(weight * temp * (softmax(z[i:i + n] / temp) - targets) / n)
            i += n
        d = np.concatenate(d)  # (N_total, C)
        for layer in range(len(p) - 1, -1, -1):
            W, b = p[layer]
            gW, gb = hs[layer].T @ d, d.sum(0)
            if layer > 0:
                d = (d @ W.T) * (1 - hs[layer] ** 2)
            vW, vb = 0.9 * vel[layer][0] - lr * gW, 0.9 * vel[layer][1] - lr * gb
            vel[layer], p[layer] = (vW, vb), (W + vW, b + vb)
    return p


def accuracy(p, X, y):
    return float(np.mean(np.argmax(forward(p, X)[1], axis=1) == y))


def main():
    args = parse_args("distillation", __doc__)
    rng = np.random.default_rng(0)
    Xt, yt = make_data(rng, 400)  # teacher's labelled data
    Xte, yte = make_data(rng, 2000)  # test set
    Xl, yl = make_data(rng, 30)  # the student's few labels
    Xu, _ = make_data(rng, 500)  # unlabelled transfer points (labels thrown away)
    teacher = train(init(rng, [2, 32, 32, C]), [(Xt, np.eye(C)[yt], 1.0, 1.0)])
    soft = lambda X: softmax(forward(teacher, X)[1] / T)  # noqa: E731  (N, C)
    hard = (Xl, np.eye(C)[yl], 1.0, 0.5)
    setups = {
        "scratch (30 hard labels)": [(Xl, np.eye(C)[yl], 1.0, 1.0)],
        "distilled, same 30 points": [hard, (Xl, soft(Xl), T, 0.5)],
        "distilled, + 500 transfer points": [hard, (np.r_[Xl, Xu], soft(np.r_[Xl, Xu]), T, 0.5)],
    }
    print(f"teacher 2-32-32-3 on 400 labels: test accuracy {accuracy(teacher, Xte, yte):.1%}")
    print(f"teacher's soft labels at T={T}: e.g. {np.round(soft(Xl[:1])[0], 2)} "
          f"(hard label {yl[0]})")
    students = {}
    for name, parts in setups.items():
        students[name] = train(init(np.random.default_rng(1), [2, 8, C]), parts)  # same init
        print(f"student 2-8-3, {name:<33}: test accuracy {accuracy(students[name], Xte, yte):.1%}")
    ref = train(init(np.random.default_rng(1), [2, 8, C]), [(Xt, np.eye(C)[yt], 1.0, 1.0)])
    print(f"(reference: the same student on the teacher's 400 labels: "
          f"{accuracy(ref, Xte, yte):.1%} -- distillation pays when labels are scarce)")
    acc = {name: accuracy(p, Xte, yte) for name, p in students.items()}
    scratch, same, transfer = acc.values()
    print(f"gain over scratch: same points {same - scratch:+.1%}, with transfer points "
          f"{transfer - scratch:+.1%}")

    g = np.linspace(-4, 4, 150)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]  # (G, 2)
    fig, axes = plt.subplots(1, 4, figsize=(15, 4), sharey=True)
    models = [("teacher (400 labels)", teacher)] + list(students.items())
    for ax, (name, p) in zip(axes, models, strict=True):
        region = np.argmax(forward(p, grid)[1], axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5, 2.5],
                    colors=["#f8c5c5", "#c6dbef", "#c7e9c0"])
        for c, col in enumerate(["tab:red", "tab:blue", "tab:green"]):
            ax.scatter(*Xl[yl == c].T, c=col, s=25, edgecolors="k", label=f"class {c} (labelled)")
        ax.set(title=f"{name}\ntest acc {accuracy(p, Xte, yte):.1%}", xlabel="x1")
    axes[0].set_ylabel("x2")
    axes[0].legend(loc="lower left", fontsize=7)
    fig.suptitle("Decision regions: the same 2-8-3 student, scratch vs distilled (T=2); "
                 "dots = the student's 30 labelled points")
    fig.tight_layout()
    save_plot(fig, args.out, "distillation.png")

    check(transfer >= scratch + 0.05, "distilling with transfer points beats scratch by >= 5 "
          "points")
    check(transfer >= accuracy(teacher, Xte, yte) - 0.05, "transfer-distilled student within 5 "
          "points of the teacher")


if __name__ == "__main__":
    main()
