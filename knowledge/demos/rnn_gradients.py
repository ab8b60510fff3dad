"""Vanishing and exploding gradients in an RNN, and gradient clipping by norm.

Answers 8.3.46.1 (how to notice exploding gradients, how to prevent them: clipping) and 8.3.46.2
(why RNNs suffer most). Backprop through time multiplies the gradient by W^T diag(f'(z_t)) once
per step, with the SAME W every step, so k steps back the gradient is scaled like rho^k, rho the
spectral radius of W: 0.9^100 ~ 3e-5 vanishes, 1.1^100 ~ 1e4 explodes. tanh' <= 1 can only
shrink it further (with rho > 1 the state grows until tanh saturates, so tanh RNNs mostly vanish).
Here W = rho * orthogonal, so the linear RNN's factor is exactly rho^k. Clipping rescales a
too-large gradient to the threshold, keeping its direction.

Usage: python knowledge/demos/rnn_gradients.py [--out DIR]
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if __package__:  # python -m knowledge.demos.NAME
    from ._common import check, numerical_gradient, parse_args, relative_error, save_plot
else:  # python knowledge/demos/NAME.py
    from _common import check, numerical_gradient, parse_args, relative_error, save_plot

TITLE = "RNN gradients: rho^k vanishing/exploding through time, and clipping by norm"
QUESTION_IDS = ["8.3.46.1", "8.3.46.2"]


def recurrent_matrix(rng, d, rho):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # (d, d) orthogonal: all |eigenvalues| = 1
    return rho * q  # spectral radius (and every singular value) = rho


def rnn_forward(W, U, xs, act):
    h, hs, zs = np.zeros(W.shape[0]), [np.zeros(W.shape[0])], []
    for x in xs:  # xs: (T, d_in)
        z = W @ h + U @ x  # (d,)
        h = np.tanh(z) if act == "tanh" else z  # (d,)
        zs.append(z)
        hs.append(h)
    return hs, zs


def bptt_norms(W, zs, g_T, act):
    """||dL/dh_t|| for t = T, T-1, ..., 0 given dL/dh_T = g_T (loss reads only h_T)."""
    g, norms = g_T, [np.linalg.norm(g_T)]
    for z in reversed(zs):
        fprime = 1.0 - np.tanh(z) ** 2 if act == "tanh" else np.ones_like(z)  # (d,)
        g = W.T @ (fprime * g)  # one step back: W^T diag(f') g
        norms.append(np.linalg.norm(g))
    return np.array(norms), g  # norms[k] = k steps back; g = dL/dh_0


def clip_by_norm(g, threshold):
    norm = np.linalg.norm(g)
    return g * (threshold / norm) if norm > threshold else g


def main():
    args = parse_args("rnn_gradients", __doc__)
    rng = np.random.default_rng(0)
    d, T = 16, 100
    U = rng.normal(size=(d, 3)) / np.sqrt(3)  # (d, d_in)
    xs = 0.1 * rng.normal(size=(T, 3))  # (T, d_in), small inputs: tanh starts near-linear
    g_T = rng.normal(size=d)  # (d,): dL/dh_T for L = g_T . h_T

    # BPTT recursion is the true gradient: check dL/dh_0 numerically on a short tanh sequence
    W5 = recurrent_matrix(rng, d, 1.0)
    h0 = rng.normal(size=d)  # (d,)

    def loss5():
        h = h0
        for x in xs[:5]:
            h = np.tanh(W5 @ h + U @ x)
        return g_T @ h

    zs5, h = [], h0
    for x in xs[:5]:
        zs5.append(W5 @ h + U @ x)
        h = np.tanh(zs5[-1])
    bptt_err = relative_error(bptt_norms(W5, zs5, g_T, "tanh")[1], numerical_gradient(loss5, h0))
    print(f"BPTT as repeated W^T diag(tanh') vs finite differences, 5 steps: {bptt_err:.1e}")

    results = {}
    for rho in (0.9, 1.0, 1.1):
        W = recurrent_matrix(rng, d, rho)
        for act in ("linear", "tanh"):
            results[rho, act] = bptt_norms(W, rnn_forward(W, U, xs, act)[1], g_T, act)[0]
        lin, th = results[rho, "linear"], results[rho, "tanh"]
        print(f"rho={rho}: ||dL/dh|| 100 steps back / at T: linear {lin[T] / lin[0]:.1e} "
              f"(rho^100 = {rho**T:.1e}), tanh {th[T] / th[0]:.1e}")

    g_big = results[1.1, "linear"][T] * g_T / np.linalg.norm(g_T)  # (d,): an exploded gradient
    clipped = clip_by_norm(g_big, 5.0)  # (d,)
    cosine = clipped @ g_big / (np.linalg.norm(clipped) * np.linalg.norm(g_big))
    small = 0.1 * g_T  # (d,), below the threshold
    print(f"clip to 5.0: norm {np.linalg.norm(g_big):.1f} -> {np.linalg.norm(clipped):.4f}, "
          f"cosine with original {cosine:.12f}")

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    steps = np.arange(T + 1)
    for rho, color in zip((0.9, 1.0, 1.1), ("tab:blue", "tab:green", "tab:red"), strict=True):
        ax.semilogy(steps, results[rho, "linear"], color=color, label=f"linear RNN, rho={rho}")
        ax.semilogy(steps, results[rho, "tanh"], color=color, ls="--", label=f"tanh RNN, rho={rho}")
    ax.set(xlabel="time steps back from the loss (k)", ylabel="||dL/dh_(T-k)|| (log scale)",
           title="Backprop through time: gradient norm scales like rho^k")
    ax.legend(fontsize=8, ncol=2)
    save_plot(fig, args.out, "rnn_gradients.png")

    check(bptt_err < 1e-6, "BPTT recursion matches finite differences (rel err < 1e-6)")
    for rho in (0.9, 1.0, 1.1):
        expected = rho ** steps * np.linalg.norm(g_T)  # (T+1,)
        check(np.allclose(results[rho, "linear"], expected, rtol=1e-9),
              f"linear RNN, rho={rho}: gradient norm k steps back equals rho^k * ||g_T||")
        check(np.all(results[rho, "tanh"] <= results[rho, "linear"] * (1 + 1e-9)),
              f"tanh RNN, rho={rho}: tanh' <= 1 never makes the gradient larger than linear")
    check(results[0.9, "linear"][T] < 1e-4 * results[0.9, "linear"][0], "rho=0.9 vanishes")
    check(results[1.1, "linear"][T] > 1e4 * results[1.1, "linear"][0], "rho=1.1 explodes")
    check(np.isclose(np.linalg.norm(clipped), 5.0), "clipped gradient norm == threshold")
    check(np.isclose(cosine, 1.0, atol=1e-12), "clipping keeps the gradient direction")
    check(np.array_equal(clip_by_norm(small, 5.0), small), "gradient under the threshold untouched")


if __name__ == "__main__":
    main()
