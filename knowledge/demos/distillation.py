"""Knowledge distillation vs training the small model from scratch; temperature and the T^2 factor.

Answers 8.3.70. A teacher MLP (2-32-32-3) is trained on 400 labelled points. A small student
(2-8-3) has only 30 labelled points. Same architecture, steps and init, three ways: (a) from
scratch on the 30 hard labels; (b) on the same 30 points with the teacher's softened probabilities
mixed 50/50 with the hard labels; (c) as (b) plus the teacher's soft labels on 500 unlabelled
"transfer" points. Soft labels say how confident the teacher is and which classes are close, and
the teacher can label data nobody labelled by hand. One draw of 30 points is noisy (the gain of
(c) over (a) ranges from about +3 to +25 points), so the comparison is repeated on 4 draws.

The mechanics are checked too. Temperature: softmax(z / T) with T = 2 keeps the teacher's ranking
of the classes but moves probability onto the wrong ones, where the "dark knowledge" is. The T^2
factor: the gradient of CE(q_T, softmax(z / T)) with respect to the student's logits is
(softmax(z / T) - q_T) / T, which shrinks like 1/T^2 once T is large; multiplying the soft loss by
T^2 keeps its gradient on the scale of the hard-label loss whatever T is, so the 50/50 mix means
the same at any temperature.

Usage: python knowledge/demos/distillation.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "Knowledge distillation: a small student learns more from a teacher's soft labels"
QUESTION_IDS = ["8.3.70"]
C, T, STEPS, DRAWS = 3, 2.0, 500, 4
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


def soft_loss(z, q, temp):
    """temp^2 * CE(q, softmax(z / temp)), summed over the examples."""
    s = z / temp
    log_p = s - s.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    return -temp**2 * np.sum(q * log_p)


def soft_grad(z, q, temp):
    """d soft_loss / d z, per example (N, C): the T^2 factor turns (softmax(z/T) - q)/T into this."""
    return temp * (softmax(z / temp) - q)


def train(p, parts, steps=STEPS, lr=0.1):
    """GD + momentum on sum_k weight_k * mean soft_loss(logits_k, targets_k, temp_k); temp 1 with
    one-hot targets is the usual cross-entropy."""
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in p]
    X = np.concatenate([part[0] for part in parts])  # (N_total, 2)
    for _ in range(steps):
        hs, z = forward(p, X)
        d, i = [], 0
        for Xk, targets, temp, weight in parts:
            n = len(Xk)
            d.append(weight * soft_grad(z[i:i + n], targets, temp) / n)
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


def entropy(q):
    return float(np.mean(-np.sum(q * np.log(np.maximum(q, 1e-300)), axis=1)))


def main():
    args = parse_args("distillation", __doc__)
    rng = np.random.default_rng(0)
    Xt, yt = make_data(rng, 400)  # teacher's labelled data
    Xte, yte = make_data(rng, 2000)  # test set
    Xu, _ = make_data(rng, 500)  # unlabelled transfer points (labels thrown away)
    teacher = train(init(rng, [2, 32, 32, C]), [(Xt, np.eye(C)[yt], 1.0, 1.0)])
    teacher_acc = accuracy(teacher, Xte, yte)

    def soft_labels(X):  # the teacher's softened probabilities, (N, C)
        return softmax(forward(teacher, X)[1] / T)

    print(f"teacher 2-32-32-3 on 400 labels: test accuracy {teacher_acc:.1%}")

    # temperature: same ranking, more mass on the wrong classes
    z_u = forward(teacher, Xu)[1]  # (500, C) teacher logits on the transfer points
    q1, qT = softmax(z_u), soft_labels(Xu)  # (500, C) each
    ent1, entT = entropy(q1), entropy(qT)
    same_rank = bool(np.array_equal(np.argsort(q1, axis=1), np.argsort(qT, axis=1)))
    runner_up1, runner_upT = np.sort(q1, axis=1)[:, -2].mean(), np.sort(qT, axis=1)[:, -2].mean()
    print(f"teacher's outputs on the transfer points: entropy {ent1:.3f} nats at T=1, {entT:.3f} at"
          f" T={T:g}; mean runner-up probability {runner_up1:.3f} -> {runner_upT:.3f}; class "
          f"ranking unchanged: {same_rank}")

    # the T^2 factor: gradient check, then the soft-label gradient's scale across temperatures
    gz = rng.normal(size=(5, C))  # (5, C) logits
    gq = softmax(rng.normal(size=(5, C)))  # (5, C) soft targets
    grad_err = relative_error(soft_grad(gz, gq, T),
                              numerical_gradient(lambda: soft_loss(gz, gq, T), gz))
    print(f"d(T^2 CE)/dz = T (softmax(z/T) - q) vs finite differences: rel err {grad_err:.1e}")
    z_s = forward(init(np.random.default_rng(1), [2, 8, C]), Xu)[1]  # (500, C) a fresh student
    temps = np.array([1.0, 2.0, 4.0, 8.0])
    gnorm = np.array([np.linalg.norm(soft_grad(z_s, softmax(z_u / t), t), axis=1).mean()
                      for t in temps])  # with the T^2 factor
    gnorm_plain = np.array([np.linalg.norm((softmax(z_s / t) - softmax(z_u / t)) / t, axis=1)
                            .mean() for t in temps])  # gradient of CE(q_T, softmax(z/T)), no T^2
    print("mean |d loss/d logits| on the soft labels, T = " + ", ".join(f"{t:g}" for t in temps)
          + ": with T^2 " + ", ".join(f"{g:.3f}" for g in gnorm)
          + "; without " + ", ".join(f"{g:.4f}" for g in gnorm_plain))

    # accuracy: scratch vs distilled, on DRAWS draws of the student's 30 labelled points
    names = ["scratch (30 hard labels)", "distilled, same 30 points",
             "distilled, + 500 transfer points"]
    acc = np.empty((DRAWS, 3))  # (draws, setups)
    for draw in range(DRAWS):
        r = np.random.default_rng(100 + draw)
        Xl, yl = make_data(r, 30)  # the student's few labels
        hard = (Xl, np.eye(C)[yl], 1.0, 0.5)
        setups = [[(Xl, np.eye(C)[yl], 1.0, 1.0)], [hard, (Xl, soft_labels(Xl), T, 0.5)],
                  [hard, (np.r_[Xl, Xu], soft_labels(np.r_[Xl, Xu]), T, 0.5)]]
        students = [train(init(np.random.default_rng(draw), [2, 8, C]), parts)  # same init
                    for parts in setups]
        acc[draw] = [accuracy(s, Xte, yte) for s in students]
        if draw == 0:
            shown, shown_X, shown_y = students, Xl, yl
        print(f"draw {draw}: student 2-8-3 test accuracy " + ", ".join(
            f"{n} {a:.1%}" for n, a in zip(names, acc[draw], strict=True)))
    gain_same, gain_transfer = acc[:, 1] - acc[:, 0], acc[:, 2] - acc[:, 0]
    print(f"gain over scratch, mean of {DRAWS} draws: same points {gain_same.mean():+.1%}, with "
          f"transfer points {gain_transfer.mean():+.1%} (per draw "
          + ", ".join(f"{g:+.1%}" for g in gain_transfer) + ")")

    g = np.linspace(-4, 4, 150)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]  # (G, 2)
    fig = plt.figure(figsize=(17, 8.5))
    grid_spec = fig.add_gridspec(2, 12, height_ratios=[1, 0.85])
    top = [fig.add_subplot(grid_spec[0, 3 * k:3 * k + 3]) for k in range(4)]
    bottom = [fig.add_subplot(grid_spec[1, 4 * k:4 * k + 4]) for k in range(3)]
    models = [("teacher (400 labels)", teacher)] + list(zip(names, shown, strict=True))
    for ax, (name, p) in zip(top, models, strict=True):
        region = np.argmax(forward(p, grid)[1], axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5, 2.5],
                    colors=["#f8c5c5", "#c6dbef", "#c7e9c0"])
        for c, col in enumerate(["tab:red", "tab:blue", "tab:green"]):
            ax.scatter(*shown_X[shown_y == c].T, c=col, s=25, edgecolors="k",
                       label=f"class {c} (labelled)")
        ax.set(title=f"{name}\ntest acc {accuracy(p, Xte, yte):.1%}", xlabel="x1", ylabel="x2")
    top[0].legend(loc="lower left", fontsize=7)
    ax = bottom[0]
    i = int(np.argmin(np.abs(q1.max(axis=1) - 0.9)))  # a transfer point the teacher is 90% sure of
    for k, t in enumerate([1.0, T, 4.0]):
        ax.bar(np.arange(C) + (k - 1) * 0.27, softmax(z_u[i:i + 1] / t)[0], 0.27, label=f"T={t:g}")
    ax.set(xticks=range(C), xlabel="class", ylabel="teacher probability",
           title="Temperature softens the teacher's output\n(a transfer point it is 90% sure of)")
    ax.legend(fontsize=8)
    ax = bottom[1]
    ax.loglog(temps, gnorm, "o-", label="T^2 * CE(soft): the distillation loss")
    ax.loglog(temps, gnorm_plain, "s--", label="CE(soft) without T^2")
    ax.set(xlabel="temperature T", ylabel="mean |d loss / d student logits|",
           title="T^2 keeps the soft-label gradient's scale")
    ax.set_xticks(temps, [f"{t:g}" for t in temps])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    ax = bottom[2]
    for k, (name, mk) in enumerate(zip(names, "osD", strict=True)):
        ax.plot(np.arange(DRAWS), 100 * acc[:, k], mk + "-", label=name)
    ax.axhline(100 * teacher_acc, color="k", ls=":", label="teacher")
    ax.set(xlabel="draw of the 30 labelled points", ylabel="student test accuracy (%)",
           xticks=range(DRAWS), title="Every draw: distilled with transfer points > scratch")
    ax.legend(fontsize=7)
    fig.suptitle(f"{TITLE} (T={T:g}); top: decision regions for draw 0, dots = the student's 30 "
                 "labelled points")
    fig.tight_layout()
    save_plot(fig, args.out, "distillation.png")

    check(entT > ent1 + 0.1 and runner_upT > runner_up1,
          f"T={T:g} softens the teacher's labels (higher entropy, more mass on the runner-up)")
    check(same_rank, "the temperature keeps the teacher's ranking of the classes")
    check(grad_err < 1e-6, "soft-label gradient T (softmax(z/T) - q) matches finite differences "
          "of T^2 CE")
    check(0.5 < gnorm[-1] / gnorm[1] < 2 and gnorm_plain[-1] / gnorm_plain[1] < 0.2,
          "with T^2 the soft-label gradient keeps its scale from T=2 to T=8 (within 2x); "
          "without it, it shrinks > 5x")
    check(np.all(gain_transfer > 0) and gain_transfer.mean() >= 0.05,
          "distilling with transfer points beats scratch on every draw, by >= 5 points on average")
    check(acc[:, 2].mean() >= teacher_acc - 0.06,
          "transfer-distilled students within 6 points of the teacher on average")


if __name__ == "__main__":
    main()
