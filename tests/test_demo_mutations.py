"""Every demo's self-check can fail: break the demo's key line and the demo must exit with
"SELF-CHECK FAILED" (not pass, and not crash with a traceback).

Each mutation is a targeted string replacement applied to a temporary copy of the demo (next to a
copy of _common.py), which is then run as a script. The original text must occur exactly once, so
a mutation that no longer matches the demo fails loudly instead of silently testing nothing. The
selected mutants run in parallel, one per CPU core, each with one BLAS thread.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from knowledge.loader import DEMOS_DIR, load_demos

DEMOS = sorted(load_demos()[0])

# name -> [(what the mutation breaks, original text, replacement)]
MUTATIONS: dict[str, list[tuple[str, str, str]]] = {
    "activations": [
        ("sigmoid' computed as s(1 + s)",
         "return s * (1.0 - s)", "return s * (1.0 + s)"),
    ],
    "async_sgd": [
        ("gradients are always fresh (no staleness)",
         "w_old = hist[max(0, t - staleness)]", "w_old = hist[-1]"),
    ],
    "batch_size": [
        ("scaling rule with the batch left at 8 (only the lr scaled)",
         "noise_floor(k * base_b, k * base_lr,", "noise_floor(base_b, k * base_lr,"),
    ],
    "batchnorm_vs_layernorm": [
        ("running statistics never updated",
         "self.run_mean += self.momentum * (mu - self.run_mean)", "pass"),
    ],
    "dead_relu": [
        ("leaky ReLU's backward pass uses slope 0 for negative inputs",
         "slope = np.where(z > 0, 1.0, alpha)", "slope = np.where(z > 0, 1.0, 0.0)"),
        ("'dead' assumed equal to 'inactive' instead of measured from the gradient",
         "dead.append(np.all(dz == 0, axis=0))", "dead.append(inact[-1])"),
    ],
    "distillation": [
        ("soft labels taken at T = 1 (temperature dropped)",
         "return softmax(forward(teacher, X)[1] / T)", "return softmax(forward(teacher, X)[1])"),
        ("soft-label loss not multiplied by T^2",
         "return temp * (softmax(z / temp) - q)", "return (softmax(z / temp) - q) / temp"),
    ],
    "dropout": [
        ("no 1/keep_prob rescaling",
         "mask = (rng.random(x.shape) < keep_prob) / keep_prob",
         "mask = (rng.random(x.shape) < keep_prob) * 1.0"),
    ],
    "exploding_gradients": [
        ("clipping does not rescale the gradient",
         "v * (c / n) for k, v in g.items()", "v * 1.0 for k, v in g.items()"),
    ],
    "early_stopping": [
        ("patience counter not reset on improvement",
         "val_loss, epoch, w.copy(), 0", "val_loss, epoch, w.copy(), self.wait"),
    ],
    "epochs_vs_replacement": [
        ("'without replacement' draws with replacement",
         "rng.integers(0, N, n) if replace else rng.permutation(N)[:n]",
         "rng.integers(0, N, n)"),
    ],
    "gradient_inversion": [
        ("row of dL/dW not divided by dL/db",
         "return gW[i] / gb[i]", "return gW[i]"),
    ],
    "l1_vs_l2": [
        ("proximal step shrinks proportionally (ridge-like) instead of soft thresholding",
         "return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)", "return z / (1.0 + t)"),
    ],
    "learning_rate": [
        ("no warmup in the warmup toy",
         "toy_warmup(lambda t: 0.5 * min(1.0, (t + 1) / 50))", "toy_warmup(lambda t: 0.5)"),
        ("the 'lr x0.1' spread measured at lr x0.01",
         "stationary_spread(peak * 0.1)", "stationary_spread(peak * 0.01)"),
    ],
    "linear_collapse": [
        ("collapsed bias misses W2 b1",
         "one = x @ (W2 @ W1).T + (W2 @ b1 + b2)", "one = x @ (W2 @ W1).T + b2"),
    ],
    "nonconvex": [
        ("swap moves the incoming weights but not the outgoing ones",
         'q["w2"] = p["w2"][order]', 'q["w2"] = p["w2"].copy()'),
    ],
    "optimizers": [
        ("Adam without the 1/sqrt(v) scaling",
         "step_size = lr / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)", "step_size = lr + 0 * v"),
    ],
    "pruning": [
        ("prune by signed value instead of magnitude",
         "else np.abs(scores)", "else scores"),
    ],
    "randomness_sources": [
        ("the shuffling ignores its seed",
         'order = g["shuffle"].permutation(len(X))', "order = np.arange(len(X))"),
    ],
    "relu_linear": [
        ("output weights (+1, +1): relu(z) + relu(-z) = |z|",
         "v = np.array([1.0, -1.0])", "v = np.array([1.0, 1.0])"),
    ],
    "rnn_gradients": [
        ("BPTT forgets the tanh derivative",
         "g = W.T @ (fprime * g)", "g = W.T @ g"),
    ],
    "sgd_vs_adam_min_norm": [
        ("Adam without the per-coordinate 1/sqrt(v) (momentum SGD)",
         "w = w - lr_t * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)",
         "w = w - lr_t * (m / (1 - 0.9**t))"),
    ],
    "skip_connections": [
        ("identity path dropped from the residual backward pass",
         "dh = dz @ Ws[layer].T + (dh if residual else 0.0)", "dh = dz @ Ws[layer].T"),
    ],
    "two_layer_net": [
        ("ReLU backward passes the gradient everywhere",
         "dz1 = dh * (z1 > 0)", "dz1 = dh"),
    ],
    "weight_decay": [
        ("AdamW run replaced by Adam + L2",
         "adam_run(sigmas, decoupled=True)", "adam_run(sigmas, decoupled=False)"),
    ],
    "weight_norm": [
        ("dL/dv not projected orthogonally to v",
         "dv = (g[0] / nv) * (dw - dg * v / nv)", "dv = (g[0] / nv) * dw"),
        ("direction's learning rate taken as lr * g / ||v||^2 (the old, non-monotone plot)",
         "eff = {lr: lr / h[:, 1] ** 2 for", "eff = {lr: lr * h[:, 2] / h[:, 1] ** 2 for"),
    ],
    "xor": [
        ("hand-set output weights (1, -1) instead of (1, -2)",
         "return h1 - 2 * h2", "return h1 - h2"),
    ],
    "zero_init": [
        ("constant init with a tiny asymmetry",
         '"W1": np.full((2, H), 0.5),', '"W1": np.full((2, H), 0.5) + 1e-3 * rng.normal(size=(2, H)),'),
    ],
}

CASES = [pytest.param(name, i, id=f"{name}-{i}")
         for name in sorted(MUTATIONS) for i in range(len(MUTATIONS[name]))]


def test_every_demo_has_a_mutation():
    assert sorted(MUTATIONS) == DEMOS


def test_every_mutation_matches_its_demo_exactly_once():
    for name, mutations in MUTATIONS.items():
        source = (DEMOS_DIR / f"{name}.py").read_text(encoding="utf-8")
        for what, old, _ in mutations:
            assert source.count(old) == 1, f"{name} ({what}): {old!r} must occur exactly once"


def run_mutant(name: str, i: int, tmp: Path) -> subprocess.CompletedProcess:
    _, old, new = MUTATIONS[name][i]
    source = (DEMOS_DIR / f"{name}.py").read_text(encoding="utf-8")
    if source.count(old) != 1:  # reported by test_every_mutation_matches_its_demo_exactly_once
        pytest.fail(f"{name}: the mutated text must occur exactly once: {old!r}")
    shutil.copy(DEMOS_DIR / "_common.py", tmp / "_common.py")
    (tmp / f"{name}.py").write_text(source.replace(old, new), encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, f"{name}.py", "--out", str(tmp / "out")], cwd=tmp,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def mutants(request, tmp_path_factory):
    """Starts every selected mutant at once on a pool of one worker per core; tests wait on theirs."""
    wanted = [(item.callspec.params["name"], item.callspec.params["i"])
              for item in request.session.items
              if item.originalname == "test_broken_key_line_fails_the_self_check"]
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    futures = {(name, i): pool.submit(run_mutant, name, i, tmp_path_factory.mktemp(f"{name}-{i}"))
               for name, i in wanted}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(("name", "i"), CASES)
def test_broken_key_line_fails_the_self_check(name, i, mutants):
    what, _, _ = MUTATIONS[name][i]
    proc = mutants[name, i].result()
    assert proc.returncode == 1 and "SELF-CHECK FAILED" in proc.stderr, (
        f"{name} with '{what}' did not fail its self-check (exit {proc.returncode}):\n"
        f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    assert "Traceback" not in proc.stderr, f"{name} with '{what}' crashed:\n{proc.stderr[-1500:]}"
