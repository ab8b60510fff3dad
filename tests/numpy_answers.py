"""Learners' NumPy answers shared by the grading and code-check tests."""

TWO_LAYER_SOFTMAX = """\
# forward
h = X @ W1 + b1
a = np.maximum(0, h)
scores = a @ W2 + b2
scores -= scores.max(axis=1, keepdims=True)
p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
loss = -np.log(p[np.arange(N), y]).mean()
# backward
dscores = p.copy()
dscores[np.arange(N), y] -= 1
dscores /= N
dW2 = a.T @ dscores
db2 = dscores.sum(axis=0)
da = dscores @ W2.T
dh = da * (h > 0)
dW1 = X.T @ dh
db1 = dh.sum(axis=0)
"""
