"""Check a learner's NumPy backprop code by running it (pure logic: no I/O, no model).

What: `check_backprop_code(answer)` finds the NumPy code in a free-text answer to "write the forward
and backward pass of a two-layer network with a ReLU" (or of dropout), runs it on small random arrays
and compares every gradient it computes (dW1, db1, dW2, db2, dx) with a centred finite-difference
gradient of the code's own loss, or of sum(output * upstream) when the code takes an upstream gradient
such as `dout` as given. The verdict is "verified", "wrong" or "unknown".

Why: a similarity grader cannot tell `dh = da * (h > 0)` from `dh = da * a`, a missing `/ N` or a
transposed `dW2`; running the code can, and a numerical check needs no reference solution.

How: the code (fenced blocks, else the lines or prose clauses that parse) is flattened: uncalled
`def forward/backward` bodies and class methods run inline (`self.W1` becomes `W1`), called helpers run
as functions, a training loop runs once, and sizes the code sets itself are replaced by ours. Names
read before they are assigned are the inputs (X, y, W1, b1, W2, b2, N, p, ...; small random arrays
under each plausible convention) or an upstream gradient (dout, dscores, ...). The statements before
the first one that computes a gradient are the forward part; each parameter is perturbed (centred
differences) and only that part re-run to get the numerical gradient.

Safety: answers come from untrusted users, so their text is never given to exec, eval or compile. It
is parsed with `ast.parse` and walked by the small interpreter in `interpreter.py`, which knows a whitelist of node
types, NumPy functions and array attributes, no imports, no `while`, loops of at most 1,000 steps,
arrays of at most 10,000 elements and a step budget, and turns every failure into "unknown". The
verdict is "wrong" only when the code runs and a gradient demonstrably disagrees (or a backward line
fails on shapes) under two seeds and every convention in which the code runs, and not when the code
would be right for a single output or a single sample; prose that may describe a step the code lacks
("then zero dh where h < 0") ends the code there. Whenever the checker is unsure, it says "unknown":
a false "wrong" is the worst outcome.
"""

from __future__ import annotations

import numpy as np

from bot.grading.code_check.binding import _bindings, _other_readings
from bot.grading.code_check.gradient import _evaluate
from bot.grading.code_check.interpreter import _Budget
from bot.grading.code_check.limits import MAX_ANSWER_CHARS, SEEDS, TIME_LIMIT, TOTAL_STEPS
from bot.grading.code_check.program import _prepare
from bot.grading.code_check.verdict import UNKNOWN, CodeCheck

__all__ = ["CodeCheck", "check_backprop_code"]


def check_backprop_code(answer: str) -> CodeCheck:
    """Whether the backward pass in `answer` is the gradient of its own forward pass (see module doc)."""
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return UNKNOWN
    try:
        with np.errstate(all="ignore"):
            program = _prepare(answer)
            budget = _Budget(TOTAL_STEPS, TIME_LIMIT)
            first = _evaluate(program, _bindings(program, SEEDS[0]), SEEDS[0], budget)
            if first.status != "wrong":
                return first
            # A mismatch could be a fluke (an input right at ReLU's kink, a mask of all ones): confirm it.
            if _evaluate(program, _bindings(program, SEEDS[1]), SEEDS[1], budget).status != "wrong":
                return UNKNOWN
            # ... and it must not vanish under another reading of the code (one output, one sample).
            if program.two_layer:
                other = _evaluate(program, _other_readings(program), SEEDS[0], budget)
                if other.status == "verified":
                    return UNKNOWN
            return first
    except Exception:  # _Unsupported, and anything unforeseen (RecursionError, MemoryError, ...)
        return UNKNOWN
